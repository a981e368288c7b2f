/**
 * Every step verb, by name. A step is a map with exactly one of these keys.
 * @module
 */

import { TLBI_RANGE } from "./tlbi.ts";
import type { VerbDef } from "./verb.ts";

/** All verbs by their step key. */
export const VERBS = {
  tlbi_range: TLBI_RANGE,
} as const;

/** A verb name. */
export type VerbName = keyof typeof VERBS;

/** Looks a verb up by a key read from a spec. */
export function verbOf(name: string): VerbDef | undefined {
  return Object.hasOwn(VERBS, name) ? (VERBS as Record<string, VerbDef>)[name] : undefined;
}

/** Keys a step may carry besides its verb. */
export const STEP_KEYS = ["expect", "name"] as const;

export type { VerbDef } from "./verb.ts";
