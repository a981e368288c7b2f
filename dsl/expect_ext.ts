/**
 * Expectation keys that belong to one model area (`invs` for the SMMUv3 invalidation array,
 * cache contents, ...): each parses its value at load time and checks it after the step.
 * @module
 */

import type { Event } from "../lib/events.ts";
import type { ExpectCtx } from "./expect.ts";
import type { SpecPath } from "./types.ts";
import type { StepOutcome, World } from "./world.ts";

/** A difference an area key found. */
export interface Mismatch {
  /** The spec element that did not hold. */
  readonly path: SpecPath;
  /** One line. */
  readonly title: string;
  /** Lines shown under the code frame. */
  readonly detail?: readonly string[];
}

/** One area-specific expectation key. */
export interface ExpectExt {
  /** One line for the JSON Schema and docs. */
  readonly doc: string;
  /** Reads the value; on errors pushes diagnostics to `ctx.diags` and returns undefined. */
  parse(raw: unknown, path: SpecPath, ctx: ExpectCtx): unknown;
  /** Compares the parsed value with the World after the step (and the step's events). */
  check(
    world: World,
    parsed: unknown,
    outcome: StepOutcome,
    events: readonly Event[],
  ): readonly Mismatch[];
}
