/**
 * The invalidation entry point Jason Gunthorpe proposed for every SMMUv3 caller (seed 002,
 * vtd-sva-pkvm.md §F.4): a caller describes what changed, `{ start, last,
 * leaf_levels_bitmap, table_levels_bitmap }` (the range, inclusive, and the generic_pt
 * levels whose leaves or tables were removed), and hands it with an invalidation array to
 * the same walk the kernel driver uses, `__arm_smmu_domain_inv_range()`. A caller with no
 * `iommu_domain` (the pKVM hypervisor) then gets the same commands, batching and SYNCs.
 *
 * The description is turned into the walk's arguments at the top, as the "Populate the tlbi
 * at the top of the call chain" patch does (arm/smmu/updates, Oct 2026):
 * - LEAF is set only when no table was removed (the kunit model's rule, §F.6);
 * - the TTL hint follows armv8_compute_ttl() of the generic_pt kunit model (§F.6; INFERENCE
 *   that the driver's arm_smmu_tlbi_calc_range() uses the same rule, its source was not
 *   found). The walk at mainline 6a01b9f0a5ec derives TTL from the granule of a leaf
 *   invalidation, so a hint is carried exactly when the description has one leaf level and
 *   no table (granule = that level's entry size). Otherwise (several leaf levels, or a table
 *   removed) the walk gets a non-leaf invalidation of the smallest page size, as
 *   io-pgtable-arm's tlb_flush_walk() asks for: TTL 0 and LEAF 0, which covers at least what
 *   the hinted command would. "Change how the tlbi describes the invalidation", which would
 *   carry every hint, was not in that push (§F.4).
 * Models `struct arm_smmu_tlbi` and arm_smmu_domain_tlbi_inv() as proposed in seed 002, and
 * armv8_compute_ttl() of drivers/iommu/generic_pt/kunit_iommu_iotlb.h (jgunthorpe/linux
 * iommu_pt_arm64, 2026).
 * @module
 */

import { u64 } from "../bits.ts";
import { type EventLog, trace, warn } from "../events.ts";
import {
  domainInvRangeWalk,
  type InvRange,
  type InvWalkCtx,
} from "../drivers/arm-smmu-v3/domain_inv.ts";
import type { Invs } from "../drivers/arm-smmu-v3/invs.ts";

/** `struct arm_smmu_tlbi` (seed 002), without the domain pointer Jason marked removable. */
export interface ArmSmmuTlbi {
  /** First address changed. */
  readonly start: bigint;
  /** Last address changed, inclusive (`start` 0 and `last` ULONG_MAX: everything). */
  readonly last: bigint;
  /** generic_pt levels (bit 0: the smallest page) at which leaves were removed. */
  readonly leafLevelsBitmap: number;
  /** generic_pt levels of table entries removed (bit 1: a table of leaves); 0 if none. */
  readonly tableLevelsBitmap: number;
}

// armv8_bitmap_to_level(): the ARM level (3 = leaf pages) of the lowest generic_pt level.
function bitmapToLevel(bitmap: number): number {
  return 3 - (31 - Math.clz32(bitmap & -bitmap));
}

function isPowerOf2(x: number): boolean {
  return x !== 0 && (x & (x - 1)) === 0;
}

/**
 * Follows armv8_compute_ttl() (generic_pt kunit model, §F.6): the TTL hint (0 = none) for a
 * description on granule `tg` (log2: 12, 14 or 16). One leaf level hints that level, unless
 * a removed table sits at or below it (a Leaf=0 command clears table descriptors only above
 * its TTL level); several leaf levels give no hint. A table-only change hints the level
 * just below the lowest removed table, so that its descriptors are the ones cleared; with
 * 16K pages TTL 1 is reserved without DS, so it is avoided. No level at all WARNs.
 */
export function armv8ComputeTtl(tlbi: ArmSmmuTlbi, opts: { tg: number; log: EventLog }): number {
  const leaf = tlbi.leafLevelsBitmap & 0xff;
  const table = tlbi.tableLevelsBitmap & 0xff;
  let ttl: number;
  if (leaf) {
    if (!isPowerOf2(leaf)) return 0;
    ttl = bitmapToLevel(leaf);
    if (table && bitmapToLevel(table) + 1 > ttl) return 0;
  } else if (table) {
    ttl = bitmapToLevel(table) + 1;
    if (opts.tg === 14 && ttl === 1) return 0;
  } else {
    warn(opts.log, "armv8_compute_ttl", "WARN_ON: no level at all");
    return 0;
  }
  if (ttl < 0) {
    warn(opts.log, "armv8_compute_ttl", "WARN_ON(ttl < 0)");
    return 0;
  }
  return ttl;
}

/**
 * The walk's arguments for a description on a table of granule `2^pgShift` (see the module
 * doc): the range, and either a leaf invalidation whose granule gives the hinted TTL or a
 * non-leaf one of the smallest page size.
 */
export function tlbiInvRange(
  tlbi: ArmSmmuTlbi,
  opts: { readonly pgShift: number; readonly log: EventLog },
): InvRange & { readonly ttl: number } {
  const { pgShift } = opts;
  const size = u64(tlbi.last - tlbi.start + 1n);
  const ttl = armv8ComputeTtl(tlbi, { tg: pgShift, log: opts.log });
  const leaf = tlbi.tableLevelsBitmap === 0 && ttl !== 0;
  // Level 3 - ttl entries span 2^(pgShift + (3 - ttl) * (pgShift - 3)) bytes.
  const granule = leaf ? 1n << BigInt(pgShift + (3 - ttl) * (pgShift - 3)) : 1n << BigInt(pgShift);
  return { iova: tlbi.start, size, granule, leaf, ttl };
}

/**
 * Follows arm_smmu_domain_tlbi_inv() as proposed (seed 002): invalidates what `tlbi`
 * describes everywhere `invs` says, through the driver's own walk. `ctx` is the caller's
 * log and walk variant (the pKVM build compiles the mainline walk).
 */
export function domainTlbiInv(
  ctx: InvWalkCtx,
  opts: { readonly tlbi: ArmSmmuTlbi; readonly invs: Invs; readonly pgShift: number },
): void {
  const { tlbi, invs, pgShift } = opts;
  const r = tlbiInvRange(tlbi, { pgShift, log: ctx.log });
  trace(ctx.log, "arm_smmu_domain_tlbi_inv", {
    start: tlbi.start,
    last: tlbi.last,
    leaf_levels: tlbi.leafLevelsBitmap,
    table_levels: tlbi.tableLevelsBitmap,
    ttl_hint: r.ttl,
    ttl: r.leaf ? r.ttl : 0,
    leaf: r.leaf,
    granule: r.granule,
  });
  domainInvRangeWalk(ctx, invs, { iova: r.iova, size: r.size, granule: r.granule, leaf: r.leaf });
}
