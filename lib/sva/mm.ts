/**
 * A process address space as SVA sees it: the page-table base an SMMUv3 CD points at, the
 * `iommu_mm_data` made at its first bind (its PASID, kept until the mm is dropped, and the
 * SVA domains bound to it, one per IOMMU driver instance that could not share one), and its
 * mmu-notifier subscriptions, through which the CPU's page-table changes reach the IOMMUs.
 * Models the SVA fields of `struct mm_struct`, `struct iommu_mm_data` (include/linux/iommu.h,
 * with the `mm` back pointer and list entry of e37d5a2d60a3, v6.18), the subscription list
 * of mm/mmu_notifier.c, and what exit_mmap() / mmdrop() do for SVA.
 * @module
 */

import { trace } from "../events.ts";
import { mmPasidDrop } from "./bind.ts";
import type { SvaDomain } from "./domain.ts";
import { mmuNotifierRelease } from "./mmu_notifier.ts";
import type { SvaSystem } from "./system.ts";

/** `struct iommu_mm_data`: made at the first bind, freed when the mm is dropped. */
export interface IommuMmData {
  /** `mm->pasid`: global, the same on every device the process is bound to. */
  readonly pasid: number;
  /** `sva_domains`: the mm's SVA domains, newest first (`list_add`). */
  readonly svaDomains: SvaDomain[];
}

/** A process (`struct mm_struct`), reduced to what SVA reads. */
export interface Mm {
  /** The spec's name of the process. */
  readonly name: string;
  /** Physical address of its page-table root (`virt_to_phys(mm->pgd)`). */
  readonly pgd: bigint;
  /** `mm->iommu_mm`; null until the first bind. */
  iommuMm: IommuMmData | null;
  /** mmu-notifier subscriptions (one per SVA domain), newest first (`hlist_add_head`). */
  readonly notifiers: SvaDomain[];
  /** exit_mmap() ran: the subscriptions were released and removed. */
  exited: boolean;
}

/** A process that has never been bound. */
export function mmCreate(name: string, opts: { readonly pgd: bigint }): Mm {
  return { name, pgd: opts.pgd, iommuMm: null, notifiers: [], exited: false };
}

/**
 * The process exits: exit_mmap() releases its notifier subscriptions, then the last mmput()
 * drops the mm, which gives its PASID back unless an SVA domain still holds the mm (then the
 * PASID goes with the last unbind).
 */
export function mmExit(sys: SvaSystem, mm: Mm): void {
  if (mm.exited) return;
  trace(sys.log, "exit_mmap", { mm: mm.name });
  mmuNotifierRelease(sys, mm);
  if (!mm.iommuMm?.svaDomains.length) mmPasidDrop(sys, mm);
}
