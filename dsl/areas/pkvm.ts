/**
 * The pKVM area: the hypervisor as a second caller of the SMMUv3 driver's invalidation
 * code. `pkvm:` declares which SMMUs it drives and the VMID of its identity stage 2; it
 * builds its invalidation array once (one S2_VMID entry per SMMU). Steps change the stage 2
 * (`pkvm_map`, `pkvm_unmap`: the hypervisor's walker reports what it removed) or hand a
 * description straight to the shared entry point (`pkvm_invalidate`):
 *
 * ```yaml
 * pkvm: { iommus: [smmu0, smmu1], vmid: 0 }
 * steps:
 *   - pkvm_invalidate: { start: 0x80000000, last: 0x801fffff, leaf_levels: [1] }
 * ```
 *
 * Levels are generic_pt levels: 0 holds the smallest pages, 1 the next block size (2M with
 * 4K pages), and a table level L means a table entry at level L was removed (its table of
 * level L - 1 freed); the bitmaps are the OR of `1 << level`.
 * @module
 */

import { z } from "zod";
import type { SmmuDevice } from "../../lib/hw/smmuv3/smmu.ts";
import { pkvmCreate, type PkvmHyp, pkvmMap, pkvmTlbiInv, pkvmUnmap } from "../../lib/tlbi/pkvm.ts";
import { suggest } from "../../lib/suggest.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec } from "../load.ts";
import { Name, PageSizes, U64, uint } from "../schema.ts";
import type { Diagnostic } from "../types.ts";
import { defineVerb } from "../verbs/verb.ts";
import type { World } from "../world.ts";
import type { Area } from "./area.ts";

/** `pkvm:` of a spec: the hypervisor profile. */
export const PkvmDecl = z.strictObject({
  iommus: z.array(Name).min(1).meta({ description: "the SMMUv3 instances the hypervisor drives" }),
  vmid: uint(16).optional().meta({
    description: "VMID of its identity stage 2 on every SMMU (default 0; not in the sources)",
  }),
  pgsize: PageSizes.optional().meta({
    description: "page sizes of the stage 2 (default 4K, 2M, 1G)",
  }),
}).optional().meta({ description: "the pKVM hypervisor: a second caller of the SMMUv3 walk" });

const PKVM_VERBS_NAMES = new Set(["pkvm_map", "pkvm_unmap", "pkvm_invalidate"]);

function check(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  const decl = spec.head.pkvm;
  const smmus = Object.entries(spec.head.iommus).filter(([, d]) => d.kind === "smmuv3");
  for (const [i, name] of (decl?.iommus ?? []).entries()) {
    if (smmus.some(([n]) => n === name)) continue;
    const near = suggest(name, smmus.map(([n]) => n));
    specError(ctx, ["pkvm", "iommus", i], `No SMMUv3 named "${name}"`, {
      label: near ? `did you mean "${near}"?` : undefined,
      fixme: "the hypervisor drives SMMUv3 instances declared under iommus:",
    });
  }
  for (const step of spec.steps) {
    const a = step.args as { start?: bigint; last?: bigint };
    if (step.verb !== "pkvm_invalidate" || a.start === undefined || a.last === undefined) continue;
    if (a.last < a.start) {
      specError(
        ctx,
        [...step.path, step.verb, "last"],
        "Invalid pkvm_invalidate: last is before start",
        {
          fixme: "last is the last address of the range (inclusive)",
        },
      );
    }
  }
  if (decl) return;
  for (const step of spec.steps) {
    if (!PKVM_VERBS_NAMES.has(step.verb)) continue;
    specError(ctx, [...step.path, step.verb], `Step ${step.verb} needs the hypervisor declared`, {
      key: true,
      fixme: "add pkvm: { iommus: [<smmu>] }",
    });
  }
}

function build(world: World, spec: LoadedSpec): void {
  const decl = spec.head.pkvm;
  if (!decl) return;
  const smmus: SmmuDevice[] = [];
  for (const name of decl.iommus) {
    const inst = world.iommus[name];
    if (inst?.kind !== "smmuv3") throw new TypeError(`invspec bug: pkvm: ${name} is no SMMUv3`);
    smmus.push(inst.smmu);
  }
  const pgsizeBitmap = decl.pgsize?.reduce((a, s) => a | s, 0n);
  world.pkvm = pkvmCreate(world.log, { smmus, vmid: decl.vmid, pgsizeBitmap });
}

function hypOf(world: World): PkvmHyp {
  if (!world.pkvm) throw new TypeError("invspec bug: no pKVM hypervisor in this World");
  return world.pkvm;
}

const Levels = z.array(uint(3)).optional();

function bitmap(levels: readonly number[] | undefined): number {
  return (levels ?? []).reduce((a, l) => a | (1 << l), 0);
}

const Range = { iova: U64, size: U64 };

/** The pKVM verbs. */
export const PKVM_VERBS = [
  defineVerb({
    name: "pkvm_map",
    doc: "the hypervisor maps [iova, iova+size) to itself in its stage 2",
    schema: z.strictObject(Range),
    apply(world, a) {
      const r = pkvmMap(hypOf(world), a);
      return r.ret === 0 ? {} : { returns: r.ret.errno };
    },
  }),
  defineVerb({
    name: "pkvm_unmap",
    doc: "the hypervisor unmaps [iova, iova+size) and invalidates what its walk removed",
    schema: z.strictObject(Range),
    apply(world, a) {
      return { values: { unmapped: pkvmUnmap(hypOf(world), a) } };
    },
  }),
  defineVerb({
    name: "pkvm_invalidate",
    doc: "arm_smmu_domain_tlbi_inv() from the hypervisor: { start, last, leaf/table levels }",
    schema: z.strictObject({
      start: U64,
      last: U64.meta({ description: "last address, inclusive" }),
      leaf_levels: Levels.meta({ description: "generic_pt levels whose leaves were removed" }),
      table_levels: Levels.meta({ description: "generic_pt levels of removed table entries" }),
    }),
    apply(world, a) {
      pkvmTlbiInv(hypOf(world), {
        start: a.start,
        last: a.last,
        leafLevelsBitmap: bitmap(a.leaf_levels),
        tableLevelsBitmap: bitmap(a.table_levels),
      });
      return {};
    },
  }),
] as const;

/** The pKVM area. */
export const PKVM_AREA: Area = { name: "pkvm", check, build };
