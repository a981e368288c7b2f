/**
 * The iommu core's unmap gather (`struct iommu_iotlb_gather`): the IOVA range and page size
 * an unmap has cleared, the table pages waiting for the flush before they may be freed, the
 * flush-queue flag, and iommupt's leaf/table level bitmaps; with the helpers drivers use to
 * fill it and `iommu_iotlb_sync()`, which hands it to the driver and starts it afresh.
 *
 * Models include/linux/iommu.h (iommu_iotlb_gather_init/_is_disjoint/_add_range/_add_page/
 * _queued, iommu_iotlb_sync) at mainline as of May 2026. The level bitmaps are the
 * `gather->pt.{leaf,table}_levels_bitmap` of Jason Gunthorpe's iommupt series
 * (vtd-sva-pkvm.md §F.5), kept beside `pgsize` here rather than in a union.
 * @module
 */

import { ilog2, u64, U64_MAX } from "../bits.ts";
import type { IoPgtable } from "./pgtable.ts";
import { tableFree } from "./pte.ts";
import type { PtStep } from "./steps.ts";

/** `struct iommu_iotlb_gather`. */
export interface IotlbGather {
  /** First address to flush; `ULONG_MAX` while empty. */
  start: bigint;
  /** Last address to flush, inclusive; 0 while empty. */
  end: bigint;
  /** Size of every page gathered (io-pgtable-arm); 0 while empty or for iommupt. */
  pgsize: bigint;
  /** Ids of table pages to free once the flush is done. */
  freelist: number[];
  /** Set by dma-iommu in flush-queue mode: a later flush-all covers this unmap. */
  queued: boolean;
  /** generic_pt levels (bit 0 = smallest page) at which leaves were cleared. */
  leafLevels: number;
  /** generic_pt levels of table entries cleared whose tables are on the freelist. */
  tableLevels: number;
}

/** The gather as the driver's `iotlb_sync` received it. */
export interface GatherSnapshot extends Readonly<Omit<IotlbGather, "freelist">> {
  /** Table pages freed right after this sync. */
  readonly freelist: readonly number[];
  /** `iommu_pages_list_empty(&gather->freelist)`: only leaves changed. */
  readonly freelistEmpty: boolean;
}

/** Follows iommu_iotlb_gather_init(): an empty gather. */
export function iotlbGatherInit(opts: { readonly queued?: boolean } = {}): IotlbGather {
  return {
    start: U64_MAX,
    end: 0n,
    pgsize: 0n,
    freelist: [],
    queued: opts.queued ?? false,
    leafLevels: 0,
    tableLevels: 0,
  };
}

// The kernel re-initialises the gather by assignment, which also clears `queued`.
function gatherReset(g: IotlbGather): void {
  Object.assign(g, iotlbGatherInit());
}

/**
 * Follows iommu_iotlb_gather_is_disjoint(): true when `[iova, iova + size)` neither overlaps
 * nor touches the gathered range; an empty gather (end 0) is never disjoint.
 */
export function iotlbGatherIsDisjoint(
  g: IotlbGather,
  opts: { readonly iova: bigint; readonly size: bigint },
): boolean {
  const end = u64(opts.iova + opts.size - 1n);
  return g.end !== 0n && (u64(end + 1n) < g.start || opts.iova > u64(g.end + 1n));
}

/** Follows iommu_iotlb_gather_add_range(): widens the range to include the new pages. */
export function iotlbGatherAddRange(
  g: IotlbGather,
  opts: { readonly iova: bigint; readonly size: bigint },
): void {
  const end = u64(opts.iova + opts.size - 1n);
  if (g.start > opts.iova) g.start = opts.iova;
  if (g.end < end) g.end = end;
}

/** Follows iommu_iotlb_gather_queued(): a flush queue will flush everything later. */
export function iotlbGatherQueued(g: IotlbGather | null): boolean {
  return g !== null && g.queued;
}

/**
 * Follows iommu_iotlb_gather_add_page(): a page disjoint from the gathered range, or of
 * another size, first syncs what is gathered, since one range command carries one page
 * size (the TLBI's TTL/granule hint) and merging distant ranges would over-invalidate.
 * Also records the page's generic_pt level in `leafLevels`.
 */
export function iotlbGatherAddPage(
  pt: IoPgtable,
  g: IotlbGather,
  opts: { readonly iova: bigint; readonly size: bigint; readonly steps?: PtStep[] },
): PtStep[] {
  const steps = opts.steps ?? [];
  if ((g.pgsize !== 0n && g.pgsize !== opts.size) || iotlbGatherIsDisjoint(g, opts)) {
    iommuIotlbSync(pt, g, { steps });
  }
  g.pgsize = opts.size;
  iotlbGatherAddRange(g, opts);
  g.leafLevels |= 1 << sizeToPtLevel(pt, opts.size);
  return steps;
}

/** The generic_pt level whose entries span `size` (a page or block size of `pt`). */
export function sizeToPtLevel(pt: IoPgtable, size: bigint): number {
  return Math.floor((ilog2(size) - pt.pgShift) / pt.bitsPerLevel);
}

/** A frozen copy of the gather for an `iotlb_sync` request. */
export function iotlbGatherSnapshot(g: IotlbGather): GatherSnapshot {
  return Object.freeze({
    ...g,
    freelist: Object.freeze([...g.freelist]),
    freelistEmpty: g.freelist.length === 0,
  });
}

/**
 * Follows iommu_iotlb_sync(): the driver flushes what the gather holds and then frees the
 * gathered table pages (drivers that collect a freelist free it only after the flush, so
 * no walker can read a reused page); then the gather starts afresh.
 */
export function iommuIotlbSync(
  pt: IoPgtable,
  g: IotlbGather,
  opts: { readonly steps?: PtStep[] } = {},
): PtStep[] {
  const steps = opts.steps ?? [];
  steps.push({ op: "iotlb_sync", gather: iotlbGatherSnapshot(g) });
  for (const id of g.freelist) tableFree(pt, id, steps);
  gatherReset(g);
  return steps;
}
