/**
 * Freeing a kernel page-table page (after vfree() and the like), the mm side of kernel-VA
 * invalidation. Merged: on x86 with SVA the page is not freed but queued, and one work item
 * later flushes every bound process's SVA domains for the whole kernel half and only then
 * frees everything queued, so the free path itself never waits for an IOMMU, whatever the
 * caller's context, and an IOMMU can never walk a reused page. Other architectures free at
 * once: they do not select the option, since their SVA tables hold no kernel mappings (on
 * arm64 an SVA CD disables TTB1 walks, EPD1; INFERENCE for why arm64 needs nothing).
 *
 * In the `v2-work` variant (seed 003, NOT merged) the hook is the CPU TLB flush of the
 * caller's range, and the page is freed right after it: in atomic context before the
 * deferred IOMMU flush has run.
 * Models pagetable_free() / pagetable_free_kernel() / kernel_pgtable_work_func() of
 * include/linux/mm.h and mm/pgtable-generic.c (CONFIG_ASYNC_KERNEL_PGTABLE_FREE, v6.18) and
 * the flush_tlb_kernel_range() hook of the v2 posting (arch/x86/mm/tlb.c).
 * @module
 */

import { U64_MAX } from "../bits.ts";
import { trace } from "../events.ts";
import { svaInvalidateKvaRange, svaInvalidateKvaRangeV2 } from "./kva.ts";
import type { SvaSystem } from "./system.ts";
import { scheduleWork } from "./workqueue.ts";

/** `TLB_FLUSH_ALL` (-1UL): up to the top of the address space. */
export const TLB_FLUSH_ALL = U64_MAX;

/** A kernel page-table page being freed. */
export interface KernelPtFreeOptions {
  /** First kernel VA the page mapped (default `PAGE_OFFSET`). */
  readonly start?: bigint;
  /** End of that range, exclusive (default `TLB_FLUSH_ALL`). */
  readonly end?: bigint;
  /** The caller holds a spinlock or runs with preemption off (`in_atomic()`). */
  readonly atomic?: boolean;
}

/**
 * A kernel page-table page that mapped `[start, end)` is freed, after the CPU TLB flush of
 * that range (flush_tlb_kernel_range()). Returns the page's id (as traced).
 */
export function kernelPtFree(sys: SvaSystem, opts: KernelPtFreeOptions = {}): number {
  const start = opts.start ?? sys.pageOffset;
  const end = opts.end ?? TLB_FLUSH_ALL;
  const atomic = opts.atomic ?? false;
  const page = sys.nextPtPage++;
  trace(sys.log, "flush_tlb_kernel_range", { start, end, atomic });
  if (sys.variant === "v2-work") {
    // v2: the IOMMU hook is in the x86 CPU flush; the page goes right after it.
    if (sys.arch === "x86_64") svaInvalidateKvaRangeV2(sys, { start, end, atomic });
    pagetableFreeNow(sys, page);
    return page;
  }
  pagetableFree(sys, page);
  return page;
}

/**
 * Follows pagetable_free() for a page marked as a kernel page table: deferred where the
 * architecture selects CONFIG_ASYNC_KERNEL_PGTABLE_FREE (x86 with IOMMU_SVA), else freed now.
 */
export function pagetableFree(sys: SvaSystem, page: number): void {
  if (sys.arch === "x86_64") pagetableFreeKernel(sys, page);
  else pagetableFreeNow(sys, page);
}

/**
 * Follows pagetable_free_kernel(): the page joins the global list (at its head) and the one
 * static work item is scheduled (a no-op while it is pending: the coming run takes this page
 * too).
 */
export function pagetableFreeKernel(sys: SvaSystem, page: number): void {
  sys.kernelPgtableList.unshift(page);
  trace(sys.log, "pagetable_free_kernel", { page, queued: sys.kernelPgtableList.length });
  scheduleWork(sys.workqueue, { kind: "kernel_pgtable" }, sys.log);
}

/**
 * Follows kernel_pgtable_work_func(): takes every queued page (newest first, the list's
 * order), flushes the kernel half of every bound process's SVA domains once for all of
 * them, then frees them. Pages queued after the take wait for the next run.
 */
export function kernelPgtableWorkFunc(sys: SvaSystem): void {
  const pages = sys.kernelPgtableList.splice(0);
  svaInvalidateKvaRange(sys, { start: sys.pageOffset, end: TLB_FLUSH_ALL });
  for (const page of pages) pagetableFreeNow(sys, page);
}

// __pagetable_free(): the page's memory may be reused from here on.
function pagetableFreeNow(sys: SvaSystem, page: number): void {
  sys.freedPtPages++;
  trace(sys.log, "__pagetable_free", { page });
}
