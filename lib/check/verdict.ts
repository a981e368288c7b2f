/**
 * The verdicts the stale-translation checks of every IOMMU share: whether a cached leaf or
 * table descriptor still says what the page table in memory says, and the once-only marking
 * of an entry found stale. An IOTLB (or device-TLB) leaf must be exactly the leaf its table
 * walk reads now (same base, size, output and permissions: anything else needs an
 * invalidation, break-before-make included); a table descriptor must still point at the
 * same next-level table. Not a kernel function.
 * @module
 */

import { hex } from "../bits.ts";
import type { StaleMark, TlbEntry, TlbTag } from "../hw/tlb.ts";
import { formatSize } from "../num.ts";
import type { IoPgtable } from "../pgtable/pgtable.ts";
import { ioPgtableWalk } from "../pgtable/walk.ts";

/** A verdict on one entry: null when it agrees with memory, else what memory says now. */
export type Verdict = null | { readonly now: string };

/**
 * Updates an entry's mark from its verdict; true when it must be reported now (the first
 * check that finds it stale and does not tolerate it). Agreeing again clears the mark.
 */
export function judge(
  e: { stale?: StaleMark },
  v: Verdict,
  opts: { readonly step: number; readonly tolerated: boolean },
): boolean {
  if (v === null) {
    delete e.stale;
    return false;
  }
  e.stale ??= { since: opts.step, reported: false };
  if (opts.tolerated || e.stale.reported) return false;
  e.stale.reported = true;
  return true;
}

/** A cached leaf against the table it was read from (tables not held: nothing to say). */
export function leafVerdict<T extends TlbTag>(
  e: TlbEntry<T>,
  pgtables: ReadonlyMap<bigint, IoPgtable>,
): Verdict {
  const pt = pgtables.get(e.root);
  if (!pt) return null;
  const w = ioPgtableWalk(pt, e.iova);
  if (!w.ok) return { now: "the page table maps nothing there now" };
  if (w.iova === e.iova && w.pgsize === e.size && w.oa === e.out && w.prot === e.prot) {
    return null;
  }
  return { now: `the page table now maps ${hex(w.iova)} (${formatSize(w.pgsize)}) → ${hex(w.oa)}` };
}

/** A cached table descriptor against the table it was read from. */
export function walkVerdict<T extends TlbTag>(
  e: TlbEntry<T>,
  pgtables: ReadonlyMap<bigint, IoPgtable>,
): Verdict {
  const pt = pgtables.get(e.root);
  if (!pt) return null;
  const path = ioPgtableWalk(pt, e.iova).path;
  const i = path.findIndex((s) => s.level === e.level);
  if (i >= 0 && path[i].entry === "table" && path[i + 1]?.pa === e.out) return null;
  const freed = ![...pt.tables.values()].some((t) => t.pa === e.out);
  const was = `table ${hex(e.out)} ${freed ? "was freed" : "is no longer linked there"}`;
  if (i < 0 || path[i].entry === "invalid") return { now: `that entry is invalid now; ${was}` };
  if (path[i].entry === "leaf") return { now: `that entry is a leaf now; ${was}` };
  return { now: `that entry points at table ${hex(path[i + 1].pa)} now; ${was}` };
}
