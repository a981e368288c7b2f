/**
 * The pKVM hypervisor as a second caller of the driver's invalidation code (seed 002,
 * vtd-sva-pkvm.md §F.3, §F.4, §F.7). The hypervisor owns one identity-mapped stage-2 table
 * that every SMMU it drives translates with, changed only when VMs start and stop, under
 * its own lock, without an iotlb_gather. Following Jason Gunthorpe's proposal it builds an
 * invalidation array once (one S2_VMID entry per SMMU, no ATS) and, after each change,
 * describes what its own walker removed as `{ start, last, leaf_levels_bitmap,
 * table_levels_bitmap }` and calls the driver's entry point with it, so the command
 * building, batching and SYNCs are the kernel driver's. Mostafa Saleh's posted series
 * shares only the range-TLBI loop; this profile models the proposal (INFERENCE: neither the
 * hypervisor's invalidation code nor its VMID for the SMMUs is in the sources consulted).
 *
 * The hypervisor's walker is modelled with the generic page-table unmap (it clears leaves,
 * removes tables the range covers whole and reports the levels of both), flushing each map
 * or unmap on its own before freeing the removed tables.
 * @module
 */

import type { EventLog } from "../events.ts";
import type { Inv, Invs } from "../drivers/arm-smmu-v3/invs.ts";
import { invMake, invsAlloc, invsMerge } from "../drivers/arm-smmu-v3/invs.ts";
import { isErr } from "../errno.ts";
import type { SmmuDevice } from "../hw/smmuv3/smmu.ts";
import { iommuIotlbSync, iotlbGatherInit } from "../pgtable/gather.ts";
import { iommuPtMapRange, iommuPtUnmapRange } from "../pgtable/iommu_pt.ts";
import { type IoPgtable, ioPgtableAlloc } from "../pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../pgtable/steps.ts";
import { type ArmSmmuTlbi, domainTlbiInv } from "./domain_tlbi.ts";

/** The hypervisor's SMMU state. Plain data. */
export interface PkvmHyp {
  /** Where the shared walk writes commands and WARNs. */
  readonly log: EventLog;
  /** The walk the hypervisor build compiles. */
  readonly variant: "mainline";
  /** VMID of the identity stage 2 on every SMMU. */
  readonly vmid: number;
  /** The array built once at boot: one S2_VMID entry per SMMU. */
  readonly invs: Invs;
  /** The identity-mapped stage-2 table. */
  readonly pt: IoPgtable;
}

/** Options for {@link pkvmCreate}. */
export interface PkvmOptions {
  /** The SMMUs the hypervisor drives. */
  readonly smmus: readonly SmmuDevice[];
  /** VMID of its stage 2 (INFERENCE: not in the sources; default 0). */
  readonly vmid?: number;
  /** Page sizes of the stage-2 table (default 4K | 2M | 1G). */
  readonly pgsizeBitmap?: bigint;
  /** Input address bits (default 48). */
  readonly ias?: number;
}

/**
 * The invalidation array pKVM builds once (§F.7): one S2_VMID entry per SMMU, with the
 * range-TLBI page size on SMMUs that have RIL, merged into sorted order like the driver's.
 */
export function pkvmInvsBuild(
  smmus: readonly SmmuDevice[],
  opts: { readonly vmid: number; readonly pgShift: number; readonly log: EventLog },
): Invs {
  let invs = invsAlloc(0);
  for (const smmu of smmus) {
    const pgsize = smmu.features.range_inv ? opts.pgShift : 0;
    const e: Inv = invMake(smmu, { type: "S2_VMID", id: opts.vmid, pgsize });
    const merged = invsMerge(invs, {
      maxInvs: 1,
      numInvs: 1,
      numTrashes: 0,
      hasAts: false,
      inv: [e],
    }, {
      log: opts.log,
    });
    if (isErr(merged)) throw new TypeError("pkvmInvsBuild: the merge cannot fail without nomem");
    invs = merged;
  }
  return invs;
}

/** The hypervisor at boot: an empty identity stage 2 and its invalidation array. */
export function pkvmCreate(log: EventLog, opts: PkvmOptions): PkvmHyp {
  const pt = ioPgtableAlloc(log, {
    fmt: "ARM_64_LPAE_S2",
    pgsizeBitmap: opts.pgsizeBitmap ?? 0x4020_1000n,
    ias: opts.ias ?? 48,
  });
  const vmid = opts.vmid ?? 0;
  const invs = pkvmInvsBuild(opts.smmus, { vmid, pgShift: pt.pgShift, log });
  return { log, variant: "mainline", vmid, invs, pt };
}

/** Invalidates what `tlbi` describes on every SMMU of the hypervisor, the driver's way. */
export function pkvmTlbiInv(hyp: PkvmHyp, tlbi: ArmSmmuTlbi): void {
  domainTlbiInv(hyp, { tlbi, invs: hyp.invs, pgShift: hyp.pt.pgShift });
}

// Each flush request of a map or unmap becomes one description for the shared code.
function replay(hyp: PkvmHyp, steps: readonly PtStep[]): void {
  for (const req of ptRequests(steps)) {
    if (req.op !== "iotlb_sync" || req.gather.end < req.gather.start) continue;
    pkvmTlbiInv(hyp, {
      start: req.gather.start,
      last: req.gather.end,
      leafLevelsBitmap: req.gather.leafLevels,
      tableLevelsBitmap: req.gather.tableLevels,
    });
  }
}

/**
 * Maps `[iova, iova + size)` to itself. A new mapping needs no invalidation; only tables
 * replaced by a block are flushed, before they are freed. Returns the bytes mapped.
 */
export function pkvmMap(hyp: PkvmHyp, opts: { readonly iova: bigint; readonly size: bigint }): {
  ret: 0 | { errno: string };
  mapped: bigint;
} {
  const r = iommuPtMapRange(hyp.pt, { iova: opts.iova, paddr: opts.iova, len: opts.size });
  replay(hyp, r.steps);
  return { ret: r.ret, mapped: r.mapped };
}

/**
 * Unmaps `[iova, iova + size)` (e.g. memory donated to a guest), then invalidates exactly
 * what the walk removed, once, and only then frees the removed tables. Returns the bytes
 * unmapped.
 */
export function pkvmUnmap(
  hyp: PkvmHyp,
  opts: { readonly iova: bigint; readonly size: bigint },
): bigint {
  const steps: PtStep[] = [];
  const g = iotlbGatherInit();
  const { unmapped } = iommuPtUnmapRange(hyp.pt, g, { iova: opts.iova, len: opts.size, steps });
  iommuIotlbSync(hyp.pt, g, { steps });
  replay(hyp, steps);
  return unmapped;
}
