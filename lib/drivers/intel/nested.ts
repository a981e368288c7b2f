/**
 * VT-d nested (stage-1) user cache invalidation: `intel_nested_cache_invalidate_user` in
 * both forms (whole array before the core-loop series, one entry per call after it). Each
 * accepted entry becomes one `cache_tag_flush_range(domain, start, end, ih)` request.
 * Models drivers/iommu/intel/nested.c at mainline (3daee2e4b356) and, for the converted op,
 * patch 5/5 of the series (fe85c40e992b; code not seen, form inferred: same checks, same
 * order, a bounded chunk per call).
 *
 * The flush goes through the VT-d cache-tag model (`cacheTagFlushRange` in
 * `cache_tag.ts`) once it is wired; until then the op records every request as a
 * `intel_nested_flush` trace event and hands it to the optional `flush` callback.
 * @module
 */

import { u64, U64_MAX } from "../../bits.ts";
import { trace } from "../../events.ts";
import type { Rc } from "../../iommufd/errno.ts";
import { cacheInvalidatePerEntry, type OpContext } from "../../iommufd/invalidate_op.ts";
import {
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMU_VTD_INV_FLAGS_LEAF,
  VTD_S1_INVALIDATE,
  vtdS1InvalidateDecode,
} from "../../iommufd/uapi.ts";
import type { UserDataArray } from "../../iommufd/user_data.ts";

/** `VTD_PAGE_SHIFT`. */
export const VTD_PAGE_SHIFT = 12n;

/** A nested (stage-1) dmar_domain, as far as this op needs it. */
export interface IntelNestedDomain {
  /** Which driver's nested domain this is. */
  readonly driver: "intel";
  /** A name for traces and for the VT-d model to find its domain by. */
  readonly name: string;
}

/** One `cache_tag_flush_range()` request: inclusive byte range and invalidation hint. */
export interface FlushRequest {
  /** First byte. */
  readonly start: bigint;
  /** Last byte (inclusive), computed with 64-bit wrap-around. */
  readonly end: bigint;
  /** IH: 1 when only leaf PTEs changed, so paging-structure caches may be kept. */
  readonly ih: 0 | 1;
}

/** Receives each flush request (the VT-d model's `cacheTagFlushRange`, once wired). */
export type VtdFlush = (domain: IntelNestedDomain, req: FlushRequest) => void;

/** What the op needs per call. */
export interface NestedOpContext extends OpContext {
  /** Where flush requests go besides the trace; passed per call, never stored. */
  readonly flush?: VtdFlush;
}

/** Follows nrpages_to_size(): pages to bytes in unsigned long arithmetic (wraps). */
export function nrpagesToSize(npages: bigint): bigint {
  return u64(npages << VTD_PAGE_SHIFT);
}

// One copied entry: unknown flags or a reserved word are EOPNOTSUPP; a misaligned address,
// or "all" (npages U64_MAX) with a non-zero address, is EINVAL; npages 0 passes (its end
// lands below its start). The flush cannot fail.
function nestedApply(domain: IntelNestedDomain, bytes: Uint8Array, ctx: NestedOpContext): Rc {
  const inv = vtdS1InvalidateDecode(bytes);
  if ((inv.flags & ~IOMMU_VTD_INV_FLAGS_LEAF) !== 0 || inv.reserved !== 0) return "EOPNOTSUPP";
  if ((inv.addr & ((1n << VTD_PAGE_SHIFT) - 1n)) !== 0n) return "EINVAL";
  if (inv.npages === U64_MAX && inv.addr !== 0n) return "EINVAL";
  const req: FlushRequest = {
    start: inv.addr,
    end: u64(inv.addr + nrpagesToSize(inv.npages) - 1n),
    ih: (inv.flags & IOMMU_VTD_INV_FLAGS_LEAF) !== 0 ? 1 : 0,
  };
  trace(ctx.log, "intel_nested_flush", { domain: domain.name, ...req });
  ctx.flush?.(domain, req);
  return 0;
}

/**
 * Follows intel_nested_cache_invalidate_user(): the type is checked first (a zero-length
 * probe with the wrong type fails), then each entry is copied with the per-entry helper
 * (entry_len must be exactly 24), checked and flushed in order. The first error stops the
 * walk; earlier entries stay flushed and counted.
 */
export function nestedCacheInvalidateUser(
  domain: IntelNestedDomain,
  array: UserDataArray,
  ctx: NestedOpContext,
): Rc {
  return cacheInvalidatePerEntry(array, ctx, {
    dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
    kstruct: VTD_S1_INVALIDATE,
    apply: (bytes) => nestedApply(domain, bytes, ctx),
  });
}
