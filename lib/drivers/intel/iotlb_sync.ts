/**
 * The domain ops the IOMMU core calls around page-table changes: `iotlb_sync` after an
 * unmap (with the gather the page-table code filled), `flush_iotlb_all`, and
 * `iotlb_sync_map` after a map (only caching-mode or write-buffer-flushing units need it).
 * Models intel_iommu_tlb_sync(), intel_flush_iotlb_all() and intel_iommu_iotlb_sync_map()
 * of drivers/iommu/intel/iommu.c (v6.10 … v7.1 queue).
 * @module
 */

import { u64 } from "../../bits.ts";
import { cacheTagFlushAll, cacheTagFlushRange, cacheTagFlushRangeNp } from "./cache_tag.ts";
import type { DmarDomain } from "./domain.ts";
import { variantFeatures } from "./variant.ts";

/** What `iotlb_sync` reads from `struct iommu_iotlb_gather`. */
export interface IotlbGather {
  /** First unmapped byte. */
  readonly start: bigint;
  /** Last unmapped byte (inclusive). */
  readonly end: bigint;
  /** Page-table pages were freed (the gather's freelist is not empty). */
  readonly freelistNonEmpty: boolean;
}

/**
 * Follows intel_iommu_tlb_sync(): one flush of the gathered range; when no page-table
 * page was freed only leaf entries changed, so the invalidation hint lets the unit keep
 * its paging-structure caches.
 */
export function intelIommuTlbSync(domain: DmarDomain, gather: IotlbGather): void {
  cacheTagFlushRange(domain, {
    start: gather.start,
    end: gather.end,
    ih: gather.freelistNonEmpty ? 0 : 1,
  });
}

/** Follows intel_flush_iotlb_all(). */
export function intelFlushIotlbAll(domain: DmarDomain): void {
  cacheTagFlushAll(domain);
}

/**
 * Follows intel_iommu_iotlb_sync_map(): flushes the new range's non-present entries
 * (cache_tag_flush_range_np); from v6.17 only when the domain sits on a unit that needs
 * it (`iotlb_sync_map`).
 */
export function intelIommuIotlbSyncMap(
  domain: DmarDomain,
  opts: { readonly iova: bigint; readonly size: bigint },
): number {
  if (variantFeatures(domain.variant).syncMapGated && !domain.iotlbSyncMap) return 0;
  cacheTagFlushRangeNp(domain, { start: opts.iova, end: u64(opts.iova + opts.size - 1n) });
  return 0;
}
