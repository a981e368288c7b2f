/**
 * The mm side of SVA invalidation: a change to a process's page tables reaches each SVA
 * domain through its notifier subscription, newest subscription first, and the process's
 * exit releases every subscription once and then removes them all, so no invalidation of
 * that mm reaches an IOMMU afterwards.
 * Models mmu_notifier_arch_invalidate_secondary_tlbs() and __mmu_notifier_release() /
 * mn_hlist_release() of mm/mmu_notifier.c (v6.18).
 * @module
 */

import { trace } from "../events.ts";
import { svaDomainInvalidate, svaDomainRelease } from "./domain.ts";
import type { Mm } from "./mm.ts";
import type { SvaSystem } from "./system.ts";

/** A range of a process address space: `end` is exclusive; `[0, ULONG_MAX)` means all. */
export interface MmRange {
  /** First byte. */
  readonly start: bigint;
  /** First byte after the range (`ULONG_MAX` for "to the top"). */
  readonly end: bigint;
}

/**
 * Follows mmu_notifier_arch_invalidate_secondary_tlbs(): each subscription's
 * `arch_invalidate_secondary_tlbs` op, newest first; nothing once the process has exited.
 */
export function mmuNotifierArchInvalidateSecondaryTlbs(
  sys: SvaSystem,
  mm: Mm,
  r: MmRange,
): void {
  for (const d of [...mm.notifiers]) svaDomainInvalidate(sys, d, r);
}

/**
 * Follows __mmu_notifier_release(), called from exit_mmap(): every subscription's `release`
 * op, newest first, then all subscriptions are removed. The domains stay bound until their
 * bonds are dropped.
 */
export function mmuNotifierRelease(sys: SvaSystem, mm: Mm): void {
  if (mm.exited) return;
  trace(sys.log, "mmu_notifier_release", { mm: mm.name, subscriptions: mm.notifiers.length });
  for (const d of [...mm.notifiers]) svaDomainRelease(sys, d);
  mm.notifiers.length = 0;
  mm.exited = true;
}
