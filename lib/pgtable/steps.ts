/**
 * What one map or unmap did, in the kernel's order: page-table writes (entries set and
 * cleared, tables linked, unlinked and freed) interleaved with the calls the page-table
 * code and the iommu core make into the IOMMU driver (`tlb_flush_walk`, `iotlb_sync`,
 * `iotlb_sync_map`, `flush_iotlb_all`). A runner replays the requests into a driver model;
 * a hardware cache model reads the writes to know when each cached entry went stale.
 *
 * Models the `struct iommu_flush_ops` / `struct iommu_domain_ops` call points of
 * drivers/iommu/io-pgtable-arm.c, drivers/iommu/generic_pt/iommu_pt.h, drivers/iommu/iommu.c
 * and drivers/iommu/dma-iommu.c at mainline as of May 2026.
 * @module
 */

import type { GatherSnapshot } from "./gather.ts";

/** Where an entry write happened: the table, the entry and the input range it spans. */
export interface EntryAt {
  /** Id of the table written. */
  readonly table: number;
  /** Index of the entry. */
  readonly index: number;
  /** io-pgtable-arm level of the entry. */
  readonly level: number;
  /** First input address the entry spans. */
  readonly iova: bigint;
  /** Bytes the entry spans. */
  readonly size: bigint;
}

/** A page-table write. */
export type PtChange =
  /** A new table was allocated and linked at `parent[index]`. */
  | {
    readonly op: "table_alloc";
    readonly table: number;
    readonly pa: bigint;
    readonly level: number;
    readonly base: bigint;
    readonly parent: number;
    readonly index: number;
  }
  /** A leaf (page or block) was written. */
  | EntryAt & { readonly op: "leaf_set"; readonly oa: bigint }
  /** A leaf was cleared. */
  | EntryAt & { readonly op: "leaf_clear"; readonly oa: bigint }
  /** A table entry was cleared: `child` is no longer reachable from the root. */
  | EntryAt & { readonly op: "table_clear"; readonly child: number }
  /** A table page was freed (its memory may be reused). */
  | {
    readonly op: "table_free";
    readonly table: number;
    readonly pa: bigint;
    readonly level: number;
  };

/** A call into the IOMMU driver. */
export type PtRequest =
  /** `tlb_flush_walk(iova, size, granule)`: tables were freed; invalidate walks (non-leaf). */
  | {
    readonly op: "flush_walk";
    readonly iova: bigint;
    readonly size: bigint;
    readonly granule: bigint;
  }
  /** `iotlb_sync(domain, gather)`: invalidate what the gather collected. */
  | { readonly op: "iotlb_sync"; readonly gather: GatherSnapshot }
  /** `iotlb_sync_map(domain, iova, size)` after a successful map (drivers without it ignore it). */
  | { readonly op: "iotlb_sync_map"; readonly iova: bigint; readonly size: bigint }
  /** `flush_iotlb_all(domain)`: the flush queue's deferred invalidation. */
  | { readonly op: "flush_all" };

/** One entry of the ordered record. */
export type PtStep = PtChange | PtRequest;

/** The `op` values of {@link PtRequest}. */
export const PT_REQUEST_OPS: ReadonlySet<PtStep["op"]> = new Set([
  "flush_walk",
  "iotlb_sync",
  "iotlb_sync_map",
  "flush_all",
]);

/** True for a driver call, false for a page-table write. */
export function ptIsRequest(step: PtStep): step is PtRequest {
  return PT_REQUEST_OPS.has(step.op);
}

/** The driver calls of `steps`, in order. */
export function ptRequests(steps: readonly PtStep[]): PtRequest[] {
  return steps.filter(ptIsRequest);
}
