/**
 * Spec × matrix cell → World: the only DSL file that creates model objects.
 * @module
 */

import { eventLogCreate } from "../lib/events.ts";
import {
  SMMU_OPTIONS,
  smmuCreate,
  type SmmuFeature,
  type SmmuOption,
} from "../lib/hw/smmuv3/smmu.ts";
import type { LoadedSpec } from "./load.ts";
import { axisOf, type Cell } from "./matrix.ts";
import { resolveVariants } from "./variants.ts";
import type { World } from "./world.ts";

/** Options for {@link buildWorld}. */
export interface BuildOptions {
  /** Loop budget before a model is declared hung. */
  readonly budget?: number;
}

/** Features and options of one IOMMU after the cell's switches are applied. */
function switchesFor(
  spec: LoadedSpec,
  cell: Cell,
  iommu: string,
  declared: readonly string[],
): Set<string> {
  const on = new Set(declared);
  for (const [axis, v] of Object.entries(cell.values)) {
    const a = axisOf(axis, spec.head);
    if (typeof a === "string" || a.kind !== "switch") continue;
    if (a.iommu !== undefined && a.iommu !== iommu) continue;
    if (v === true) on.add(a.name);
    else on.delete(a.name);
  }
  return on;
}

/** Builds the World one run of `spec` in `cell` starts from. */
export function buildWorld(spec: LoadedSpec, cell: Cell, opts: BuildOptions = {}): World {
  const log = eventLogCreate(opts.budget);
  const chosen: Record<string, string> = { ...spec.head.variant };
  for (const [axis, v] of Object.entries(cell.values)) {
    const a = axisOf(axis, spec.head);
    if (typeof a !== "string" && a.kind === "variant") chosen[a.family] = String(v);
  }
  const world: World = { log, variants: resolveVariants(chosen), iommus: {} };
  let sortKey = 0;
  for (const [name, decl] of Object.entries(spec.head.iommus)) {
    const on = switchesFor(spec, cell, name, [...(decl.features ?? []), ...(decl.options ?? [])]);
    const options = [...on].filter((x) => (SMMU_OPTIONS as readonly string[]).includes(x));
    const features = [...on].filter((x) => !options.includes(x));
    const smmu = smmuCreate(name, log, {
      features: features as SmmuFeature[],
      options: options as SmmuOption[],
      sortKey: sortKey++,
      asidBits: decl.asid_bits,
      vmidBits: decl.vmid_bits,
      ssidBits: decl.ssid_bits,
    });
    world.iommus[name] = { kind: "smmuv3", smmu };
  }
  return world;
}
