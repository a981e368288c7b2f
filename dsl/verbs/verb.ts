/**
 * What a step verb is: its argument schema, the spec objects its arguments name, and how
 * it acts on a World.
 * @module
 */

import type { z } from "zod";
import type { StepOutcome, World } from "../world.ts";

/** Collections of declared objects a verb argument can refer to. */
export type RefKind = "iommus" | "devices" | "domains";

/** One step verb; `S` is its argument schema, `N` its name. */
export interface VerbDef<S extends z.ZodType = z.ZodType, N extends string = string> {
  /** The key a step uses (`attach`, `unmap`, ...). */
  readonly name: N;
  /** One line for `--help`, `schema` and the JSON Schema. */
  readonly doc: string;
  /** Arguments, validated on their own so one typo gives one error. */
  readonly schema: S;
  /** Arguments that name declared objects: argument key → collection. */
  readonly refs?: Readonly<Record<string, RefKind>>;
  /** Runs the step. Model failures are values in the outcome, never exceptions. */
  apply(world: World, args: z.output<S>): StepOutcome;
}

/** Defines a verb with its argument type inferred from the schema. */
export function defineVerb<S extends z.ZodType, const N extends string>(
  def: VerbDef<S, N>,
): VerbDef<S, N> {
  return def;
}
