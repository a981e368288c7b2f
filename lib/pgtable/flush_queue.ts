/**
 * Non-strict (deferred) invalidation of the DMA API, `IOMMU_DOMAIN_DMA_FQ`: an unmap does not
 * wait for the IOTLB flush; its IOVA range (and any page-table pages it freed through the
 * gather) waits in a flush queue until one flush-all covers every queued entry, when the
 * queue is full or its timer fires. io-pgtable-arm still flushes and frees tables at once
 * during the unmap (`tlb_flush_walk` is not deferred); only the leaf invalidations are.
 *
 * Models __iommu_dma_unmap(), iommu_dma_free_iova(), queue_iova(), fq_flush_iotlb() and
 * fq_flush_timeout() in drivers/iommu/dma-iommu.c at mainline as of May 2026, with one
 * queue (the timer and per-CPU queues are the caller's business: call
 * {@link iovaFqFlush} when the timer would fire).
 * @module
 */

import { warn } from "../events.ts";
import { iommuIotlbSync, iotlbGatherInit } from "./gather.ts";
import type { UnmapPagesResult } from "./io_pgtable_arm.ts";
import { iommuFlushIotlbAll, iommuUnmapFast } from "./iommu.ts";
import { type IoPgtable, minPagesz } from "./pgtable.ts";
import { tableFree } from "./pte.ts";
import type { PtStep } from "./steps.ts";

/** `IOVA_DEFAULT_FQ_SIZE`: entries per (per-CPU) flush queue. */
export const IOVA_DEFAULT_FQ_SIZE = 256;

/** One queued unmap. */
export interface FqEntry {
  /** IOVA range still reserved until the flush. */
  readonly iova: bigint;
  /** Its size. */
  readonly size: bigint;
  /** Table pages to free after the flush. */
  readonly freelist: readonly number[];
}

/** A flush queue (`struct iova_fq`). */
export interface IovaFq {
  /** Capacity. */
  readonly size: number;
  /** Entries waiting for the next flush-all, oldest first. */
  readonly entries: FqEntry[];
  /** `fq_timer_on`: armed by the first queued entry, cleared when it fires. */
  timerOn: boolean;
}

/** An empty flush queue (`iommu_dma_init_fq()`). */
export function iovaFqCreate(opts: { readonly size?: number } = {}): IovaFq {
  return { size: opts.size ?? IOVA_DEFAULT_FQ_SIZE, entries: [], timerOn: false };
}

/**
 * Follows __iommu_dma_unmap(): aligns the range to the IOVA granule, unmaps into a gather
 * marked queued when the domain has a flush queue, syncs only when it has none, then
 * releases the IOVA (queue_iova() or at once).
 */
export function iommuDmaUnmap(
  pt: IoPgtable,
  fq: IovaFq | null,
  opts: { readonly iova: bigint; readonly size: bigint; readonly steps?: PtStep[] },
): UnmapPagesResult {
  const steps = opts.steps ?? [];
  const granule = minPagesz(pt);
  const off = opts.iova & (granule - 1n);
  const iova = opts.iova - off;
  const size = (opts.size + off + granule - 1n) & ~(granule - 1n);
  const gather = iotlbGatherInit({ queued: fq !== null });
  const { unmapped } = iommuUnmapFast(pt, gather, { iova, size, steps });
  if (unmapped !== size) warn(pt.log, "__iommu_dma_unmap", "WARN_ON(unmapped != size)");
  if (!gather.queued) iommuIotlbSync(pt, gather, { steps });
  else if (fq !== null) queueIova(pt, fq, { iova, size, freelist: gather.freelist, steps });
  return { unmapped, steps };
}

// Follows queue_iova(): a full queue is flushed (and emptied) before the new entry goes in;
// the first entry arms the timer. Entries an earlier flush covered are already gone, since
// flushes complete at once here.
function queueIova(pt: IoPgtable, fq: IovaFq, e: FqEntry & { readonly steps: PtStep[] }): void {
  if (fq.entries.length >= fq.size) fqFlushIotlb(pt, fq, e.steps);
  fq.entries.push({ iova: e.iova, size: e.size, freelist: [...e.freelist] });
  fq.timerOn = true;
}

// Follows fq_flush_iotlb() and fq_ring_free(): one flush-all, then every queued entry is
// released and its table pages freed.
function fqFlushIotlb(pt: IoPgtable, fq: IovaFq, steps: PtStep[]): void {
  iommuFlushIotlbAll({ steps });
  for (const e of fq.entries.splice(0)) for (const id of e.freelist) tableFree(pt, id, steps);
}

/**
 * Follows fq_flush_timeout(): when the timer is armed it fires, flushing everything (even if
 * a full-queue flush already emptied the queue); otherwise nothing happens.
 */
export function iovaFqFlush(
  pt: IoPgtable,
  fq: IovaFq,
  opts: { readonly steps?: PtStep[] } = {},
): PtStep[] {
  const steps = opts.steps ?? [];
  if (!fq.timerOn) return steps;
  fq.timerOn = false;
  fqFlushIotlb(pt, fq, steps);
  return steps;
}
