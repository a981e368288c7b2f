/**
 * The per-domain invalidation batch (v6.12 on): descriptors collect in a 16-slot buffer
 * shared by all of a domain's tags and go to the queue in one `qi_submit_sync()` when the
 * buffer fills, when the tag walk moves to another unit, or when the walk ends. A null
 * batch stands for v6.10, where every descriptor was its own submission.
 * Models `struct qi_batch` and the qi_batch_*() helpers of drivers/iommu/intel/cache.c
 * (v6.12 … v7.1 queue).
 * @module
 */

import { U64_MAX } from "../../bits.ts";
import { warn } from "../../events.ts";
import type { Desc } from "../../hw/vtd/desc.ts";
import type { VtdIommu } from "../../hw/vtd/iommu.ts";
import { qiSubmitSync } from "../../hw/vtd/qi.ts";
import {
  type DevIotlbArgs,
  type IotlbArgs,
  qiDescDevIotlb,
  qiDescDevIotlbPasid,
  qiDescIotlb,
  qiDescPiotlb,
  qiDescPiotlbAll,
  qiDescPiotlbPages,
} from "./qi_desc.ts";

/** `QI_MAX_BATCHED_DESC_COUNT`. */
export const QI_MAX_BATCHED_DESC_COUNT = 16;

/** `struct qi_batch`: gathered descriptors, the first `index` valid. */
export interface QiBatch {
  /** Slots (reused between submissions). */
  readonly descs: Desc[];
  /** Descriptors gathered and not yet submitted. */
  index: number;
}

/** Where a descriptor goes: the tag's unit and the domain's batch (null: v6.10, unbatched). */
export interface BatchTarget {
  /** The unit whose queue receives the descriptor. */
  readonly iommu: VtdIommu;
  /** The domain's batch. */
  readonly batch: QiBatch | null;
}

/** An empty batch (`domain_qi_batch_alloc()`). */
export function qiBatchAlloc(): QiBatch {
  return { descs: [], index: 0 };
}

/**
 * Follows qi_batch_flush_descs(): submits what was gathered (nothing when no unit was
 * seen yet or the batch is empty) and empties the batch.
 */
export function qiBatchFlushDescs(iommu: VtdIommu | null, batch: QiBatch | null): void {
  if (!iommu || !batch || batch.index === 0) return;
  qiSubmitSync(iommu, batch.descs, { count: batch.index });
  batch.index = 0;
}

// qi_batch_increment_index() after writing descs[index]; unbatched: submit at once.
function add(t: BatchTarget, desc: Desc): void {
  const { iommu, batch } = t;
  if (!batch) {
    qiSubmitSync(iommu, [desc]);
    return;
  }
  batch.descs[batch.index] = desc;
  if (++batch.index === QI_MAX_BATCHED_DESC_COUNT) qiBatchFlushDescs(iommu, batch);
}

/** Follows qi_batch_add_iotlb(). */
export function qiBatchAddIotlb(t: BatchTarget, a: IotlbArgs): void {
  add(t, qiDescIotlb(t.iommu, a));
}

/**
 * Follows qi_batch_add_dev_iotlb(): nothing while translation is disabled on the unit
 * (the spec advises against device-TLB invalidations then).
 */
export function qiBatchAddDevIotlb(t: BatchTarget, a: DevIotlbArgs): void {
  if (!t.iommu.translationEnabled) return;
  add(t, qiDescDevIotlb(a));
}

/** Follows qi_batch_add_pasid_dev_iotlb(): PASID form of {@link qiBatchAddDevIotlb}. */
export function qiBatchAddPasidDevIotlb(
  t: BatchTarget,
  a: DevIotlbArgs & { readonly pasid: number },
): void {
  if (!t.iommu.translationEnabled) return;
  add(t, qiDescDevIotlbPasid(a));
}

/** Follows qi_batch_add_piotlb_all() (v7.1): all-in-PASID. */
export function qiBatchAddPiotlbAll(t: BatchTarget, a: { did: number; pasid: number }): void {
  add(t, qiDescPiotlbAll(a));
}

/** Follows qi_batch_add_piotlb() (v7.1): page-selective within PASID, by size order. */
export function qiBatchAddPiotlb(
  t: BatchTarget,
  a: { did: number; pasid: number; addr: bigint; sizeOrder: number; ih: boolean },
): void {
  add(t, qiDescPiotlb(a));
}

/**
 * Follows qi_batch_add_piotlb() with a page count (v6.12 … v6.19), and qi_flush_piotlb()
 * (v6.10, unbatched): -1 pages is all-in-PASID; 0 pages is skipped (with a WARN in the
 * v6.10 form).
 */
export function qiBatchAddPiotlbPages(
  t: BatchTarget,
  a: { did: number; pasid: number; addr: bigint; npages: bigint; ih: boolean },
): void {
  if (a.npages === 0n) {
    if (!t.batch) warn(t.iommu.log, "qi_flush_piotlb", "WARN_ON(!npages)");
    return;
  }
  add(t, a.npages === U64_MAX ? qiDescPiotlbAll(a) : qiDescPiotlbPages(t.iommu.log, a));
}
