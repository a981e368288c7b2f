/**
 * Deferred work: what the models hand to the system workqueue instead of doing at once, as
 * data (a World holds no functions). The kernel page-table free uses one static work item,
 * so scheduling it while it is pending does nothing and one run serves every page queued
 * before it; the work items Baolu Lu sketched for atomic callers (seed 003) are allocated per
 * call and each runs on its own.
 * Models schedule_work() / `work_pending()` of kernel/workqueue.c as the SVA paths use it.
 * @module
 */

import { type EventLog, trace } from "../events.ts";

/** One item on the system workqueue. */
export type Work =
  /** `kernel_pgtable_work` (mm/pgtable-generic.c): flush, then free the queued pages. */
  | { readonly kind: "kernel_pgtable" }
  /** `kva_invalidation_work_data` (seed 003 sketch): flush one kernel VA range. */
  | { readonly kind: "kva_invalidation"; readonly start: bigint; readonly end: bigint };

/**
 * Follows schedule_work(): queues `work` unless it is the static kernel page-table item and
 * that is still pending. Returns whether it was queued.
 */
export function scheduleWork(wq: Work[], work: Work, log: EventLog): boolean {
  const pending = work.kind === "kernel_pgtable" && wq.some((w) => w.kind === work.kind);
  trace(log, "schedule_work", { work: work.kind, queued: !pending });
  if (pending) return false;
  wq.push(work);
  return true;
}
