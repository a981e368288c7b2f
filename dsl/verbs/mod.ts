/**
 * Every step verb, by name. A step is a map with exactly one of these keys.
 * @module
 */

import { DOMAIN_VERBS } from "../areas/domain_verbs.ts";
import { IOMMUFD_VERBS } from "../areas/iommufd.ts";
import { SMMUV3_VERBS } from "../areas/smmuv3.ts";
import { VTD_VERBS } from "../areas/vtd_verbs.ts";
import { SVA_VERBS } from "../areas/sva.ts";
import { PKVM_VERBS } from "../areas/pkvm.ts";
import { HW_VERBS } from "../areas/hw.ts";
import { TLBI_RANGE } from "./tlbi.ts";
import type { VerbDef } from "./verb.ts";

const ALL = [
  ...DOMAIN_VERBS,
  ...SMMUV3_VERBS,
  ...IOMMUFD_VERBS,
  ...VTD_VERBS,
  ...SVA_VERBS,
  ...PKVM_VERBS,
  ...HW_VERBS,
  TLBI_RANGE,
] as const;

type ByName<T extends readonly VerbDef[]> = { readonly [V in T[number] as V["name"]]: V };

/** All verbs by their step key. */
export const VERBS: ByName<typeof ALL> = Object.fromEntries(ALL.map((v) => [v.name, v])) as ByName<
  typeof ALL
>;

/** A verb name. */
export type VerbName = keyof typeof VERBS;

/** Looks a verb up by a key read from a spec. */
export function verbOf(name: string): VerbDef | undefined {
  return Object.hasOwn(VERBS, name) ? (VERBS as Record<string, VerbDef>)[name] : undefined;
}

/** Keys a step may carry besides its verb. */
export const STEP_KEYS = ["expect", "name"] as const;

export type { VerbDef } from "./verb.ts";
