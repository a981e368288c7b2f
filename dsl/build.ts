/**
 * Spec × matrix cell → World: the only DSL code that creates model objects, through each
 * area's builder.
 * @module
 */

import { eventLogCreate } from "../lib/events.ts";
import { AREAS } from "./areas/mod.ts";
import type { LoadedSpec } from "./load.ts";
import { axisOf, type Cell } from "./matrix.ts";
import { resolveVariants } from "./variants.ts";
import type { World } from "./world.ts";

/** Options for {@link buildWorld}. */
export interface BuildOptions {
  /** Loop budget before a model is declared hung. */
  readonly budget?: number;
}

/** Builds the World one run of `spec` in `cell` starts from. */
export function buildWorld(spec: LoadedSpec, cell: Cell, opts: BuildOptions = {}): World {
  const log = eventLogCreate(opts.budget);
  const chosen: Record<string, string> = { ...spec.head.variant };
  for (const [axis, v] of Object.entries(cell.values)) {
    const a = axisOf(axis, spec.head);
    if (typeof a !== "string" && a.kind === "variant") chosen[a.family] = String(v);
  }
  const world: World = {
    log,
    variants: resolveVariants(chosen),
    iommus: {},
    devices: {},
    domains: {},
  };
  for (const area of AREAS) area.build?.(world, spec, cell);
  return world;
}
