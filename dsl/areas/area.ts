/**
 * What a model area (SMMUv3, VT-d, iommufd, ...) contributes to the DSL: load-time checks
 * of its declarations, how it builds its models into a World, its verbs, expectation keys
 * and variant families. `mod.ts` lists the areas; the loader, builder and schema read them.
 * @module
 */

import type { PtRequest } from "../../lib/pgtable/steps.ts";
import type { ExpectExt } from "../expect_ext.ts";
import type { LoadedSpec } from "../load.ts";
import type { Cell } from "../matrix.ts";
import type { Diagnostic } from "../types.ts";
import type { DomainInst, StepOutcome, World } from "../world.ts";

/** One area. */
export interface Area {
  readonly name: string;
  /** Checks declarations after schema validation: references, fields of the wrong kind. */
  check?(spec: LoadedSpec, diags: Diagnostic[]): void;
  /** Creates the area's models in a new World. */
  build?(world: World, spec: LoadedSpec, cell: Cell): void;
  /** Expectation keys. */
  readonly expect?: Readonly<Record<string, ExpectExt>>;
}

/** Arguments of the generic attach verb. */
export interface AttachArgs {
  readonly device: string;
  readonly domain: string;
  readonly pasid?: number;
  readonly path?: "core" | "driver";
}

/** Arguments of the generic detach verb. */
export interface DetachArgs {
  readonly device: string;
  readonly pasid?: number;
  readonly to?: "blocked" | "identity";
  readonly path?: "core" | "driver";
}

/** What the generic verbs (attach, detach, map, unmap, flush_all) need from a driver model. */
export interface KindOps {
  attach(world: World, a: AttachArgs): StepOutcome;
  detach(world: World, a: DetachArgs): StepOutcome;
  /** Replays one page-table request (flush_walk, iotlb_sync, ...) into the driver. */
  request(world: World, domain: DomainInst, req: PtRequest): void;
}
