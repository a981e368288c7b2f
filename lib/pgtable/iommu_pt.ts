/**
 * The generic page table code (iommupt) the VT-d driver uses: map and unmap of an IOVA
 * range with the invalidation requests they make. Where it differs from io-pgtable-arm:
 *
 * - unmap gathers one range per call (`iommu_iotlb_gather_add_range`, no page size) instead
 *   of one page at a time, and syncs in between only with `PT_FEAT_FLUSH_RANGE_NO_GAPS`;
 * - tables fully covered by an unmap are cleared entry by entry and put on the gather's
 *   freelist; they are freed after the driver's `iotlb_sync` (no `tlb_flush_walk`), so the
 *   driver must flush the paging-structure caches there (VT-d: IH = 0);
 * - an unmap starting at a large leaf removes all of it and returns its size; starting in
 *   the middle of one, or meeting a hole, stops with no WARN;
 * - mapping over a leaf fails with -EADDRINUSE, no WARN; a leaf replaces a table only if
 *   nothing is mapped below it (the tables go through the gather, synced at the end).
 *
 * Models NS(map_range), __map_range(), __map_range_leaf(), clear_contig(),
 * NS(unmap_range), __unmap_range() and gather_range_pages() in
 * drivers/iommu/generic_pt/iommu_pt.h at mainline as of May 2026 (after "iommupt: Avoid
 * rewalking during map" d6c65b0fd621 and "iommupt: Directly call iommupt's unmap_range()"
 * 99fb8afa16ad). Leaf sizes are chosen like iommu_pgsize(), which gives the same layout as
 * iommupt's pt_compute_best_pgsize().
 * @module
 */

import type { Ret } from "../errno.ts";
import { u64, U64_MAX } from "../bits.ts";
import { warn } from "../events.ts";
import {
  iommuIotlbSync,
  type IotlbGather,
  iotlbGatherAddRange,
  iotlbGatherInit,
  iotlbGatherIsDisjoint,
  iotlbGatherQueued,
} from "./gather.ts";
import type { MapPagesResult, UnmapPagesResult } from "./io_pgtable_arm.ts";
import { iommuPgsize } from "./pgsize.ts";
import {
  blockSize,
  entryIova,
  IOMMU_READ,
  IOMMU_WRITE,
  type IoPgtable,
  lvlIdx,
  minPagesz,
  ptesInTable,
  ptLevel,
  type PtTable,
  tableGet,
} from "./pgtable.ts";
import { entryClear, leafSet, tableLink } from "./pte.ts";
import type { PtStep } from "./steps.ts";

interface RangeCtx {
  readonly prot: number;
  readonly gather: IotlbGather;
  readonly steps: PtStep[];
}

/**
 * Follows gather_range_pages(): adds `[iova, iova + len)` to the gather unless it is queued
 * (a flush-all follows), syncing first if the format must not flush gaps; the freed tables
 * always join the gather's freelist, to be freed after the flush.
 */
export function iommuPtGatherRangePages(
  pt: IoPgtable,
  g: IotlbGather,
  opts: {
    readonly iova: bigint;
    readonly len: bigint;
    readonly freelist: readonly number[];
    readonly leafLevels: number;
    readonly steps: PtStep[];
  },
): void {
  if (!iotlbGatherQueued(g)) {
    if (pt.noGaps && iotlbGatherIsDisjoint(g, { iova: opts.iova, size: opts.len })) {
      iommuIotlbSync(pt, g, { steps: opts.steps });
    }
    iotlbGatherAddRange(g, { iova: opts.iova, size: opts.len });
    g.leafLevels |= opts.leafLevels;
  }
  for (const id of opts.freelist) {
    g.freelist.push(id);
    g.tableLevels |= 1 << ptLevel(tableGet(pt, id).level - 1);
  }
}

/**
 * Follows NS(map_range)(): maps `len` bytes at `iova` → `paddr` with the largest leaves
 * that fit. If tables were replaced by leaves it syncs its own gather before returning, so
 * the walk caches forget them before their pages are freed.
 */
export function iommuPtMapRange(
  pt: IoPgtable,
  opts: {
    readonly iova: bigint;
    readonly paddr: bigint;
    readonly len: bigint;
    readonly prot?: number;
    readonly steps?: PtStep[];
  },
): MapPagesResult {
  const steps = opts.steps ?? [];
  const c: RangeCtx = {
    prot: opts.prot ?? IOMMU_READ | IOMMU_WRITE,
    gather: iotlbGatherInit(),
    steps,
  };
  const bad = mapRangeCheck(pt, opts, c.prot);
  if (bad !== 0) return { ret: bad, mapped: 0n, steps };
  let mapped = 0n;
  let ret: Ret = 0;
  while (mapped < opts.len) {
    const at = { iova: opts.iova + mapped, paddr: opts.paddr + mapped };
    const { pgsize, count } = iommuPgsize(pt.pgsizeBitmap, { ...at, size: opts.len - mapped });
    const r = mapLeaves(pt, c, { ...at, pgsize, count });
    mapped += r.mapped;
    if (r.ret !== 0) {
      ret = r.ret;
      break;
    }
  }
  if (c.gather.freelist.length !== 0) iommuIotlbSync(pt, c.gather, { steps });
  return { ret, mapped, steps };
}

// The argument checks of NS(map_range)() and make_range(). Misaligned addresses or length
// give -ENXIO up front (pt_compute_best_pgsize() finds no size); the kernel may map an
// aligned head first, which this model does not.
function mapRangeCheck(
  pt: IoPgtable,
  o: { readonly iova: bigint; readonly paddr: bigint; readonly len: bigint },
  prot: number,
): Ret {
  if (!(prot & (IOMMU_READ | IOMMU_WRITE))) {
    warn(pt.log, "map_range", "WARN_ON(!(prot & (IOMMU_READ | IOMMU_WRITE)))");
    return { errno: "EINVAL" };
  }
  if (o.paddr >> BigInt(pt.oas)) return { errno: "ERANGE" };
  if (o.len === 0n) return { errno: "EINVAL" };
  const last = o.iova + o.len - 1n;
  if (last > U64_MAX) return { errno: "EOVERFLOW" };
  if (last >> BigInt(pt.ias)) return { errno: "ERANGE" };
  if ((o.iova | o.paddr | o.len) & (minPagesz(pt) - 1n)) return { errno: "ENXIO" };
  return 0;
}

// __map_range() down to the leaf level, then __map_range_leaf() for `count` leaves (as
// many as the table holds). Writes stay in place when a later entry fails.
function mapLeaves(
  pt: IoPgtable,
  c: RangeCtx,
  a: { iova: bigint; paddr: bigint; pgsize: bigint; count: bigint },
): { ret: Ret; mapped: bigint } {
  let t = tableGet(pt, pt.root);
  while (blockSize(pt, t.level) !== a.pgsize) {
    const idx = lvlIdx(pt, a.iova, t.level);
    const pte = t.entries.get(idx);
    if (!pte) t = tableLink(pt, t, { index: idx, steps: c.steps });
    else if (pte.kind === "leaf") return { ret: { errno: "EADDRINUSE" }, mapped: 0n };
    else t = tableGet(pt, pte.table);
  }
  const idx = lvlIdx(pt, a.iova, t.level);
  const n = Math.min(Number(a.count), ptesInTable(pt, t.level) - idx);
  let mapped = 0n;
  for (let i = 0; i < n; i++) {
    const pte = t.entries.get(idx + i);
    if (pte?.kind === "leaf") return { ret: { errno: "EADDRINUSE" }, mapped };
    if (pte?.kind === "table" && !clearContig(pt, c, { t, index: idx + i })) {
      return { ret: { errno: "EADDRINUSE" }, mapped };
    }
    leafSet(pt, t, { index: idx + i, oa: a.paddr + mapped, prot: c.prot, steps: c.steps });
    mapped += a.pgsize;
  }
  return { ret: 0, mapped };
}

// Follows clear_contig(): a table may give way to a leaf only if nothing is mapped below
// it; its tables (lower ones first collected top-down, then itself) go to the gather.
function clearContig(pt: IoPgtable, c: RangeCtx, at: { t: PtTable; index: number }): boolean {
  const pte = at.t.entries.get(at.index);
  if (pte?.kind !== "table") return true;
  const freelist: number[] = [];
  if (!collectTables(pt, pte.table, freelist)) return false;
  entryClear(pt, at.t, { index: at.index, steps: c.steps });
  freelist.push(pte.table);
  const iova = entryIova(pt, at.t, at.index);
  const len = blockSize(pt, at.t.level);
  iommuPtGatherRangePages(pt, c.gather, { iova, len, freelist, leafLevels: 0, steps: c.steps });
  return true;
}

// Follows __collect_tables() with check_mapped: false if any leaf is found.
function collectTables(pt: IoPgtable, id: number, out: number[]): boolean {
  for (const pte of tableGet(pt, id).entries.values()) {
    if (pte.kind === "leaf") return false;
    out.push(pte.table);
    if (!collectTables(pt, pte.table, out)) return false;
  }
  return true;
}

interface UnmapAcc {
  unmapped: bigint;
  leafLevels: number;
  readonly freelist: number[];
  readonly steps: PtStep[];
}

/**
 * Follows NS(unmap_range)(): clears `[iova, iova + len)`, frees fully covered tables through
 * the gather, and gathers the range actually unmapped. Returns the bytes unmapped, which
 * exceed `len` when the range ends inside a large leaf.
 */
export function iommuPtUnmapRange(
  pt: IoPgtable,
  g: IotlbGather,
  opts: { readonly iova: bigint; readonly len: bigint; readonly steps?: PtStep[] },
): UnmapPagesResult {
  const steps = opts.steps ?? [];
  const last = opts.iova + opts.len - 1n;
  if (opts.len === 0n || last > U64_MAX || last >> BigInt(pt.ias)) return { unmapped: 0n, steps };
  const acc: UnmapAcc = { unmapped: 0n, leafLevels: 0, freelist: [], steps };
  unmapLevel(pt, tableGet(pt, pt.root), { va: opts.iova, last }, acc);
  iommuPtGatherRangePages(pt, g, { iova: opts.iova, len: acc.unmapped, ...acc });
  return { unmapped: acc.unmapped, steps };
}

// Follows __unmap_range() on one table: false on a hole or on a start inside a leaf
// (-EINVAL), which ends the whole walk with what was cleared so far.
function unmapLevel(pt: IoPgtable, t: PtTable, r: { va: bigint; last: bigint }, acc: UnmapAcc) {
  const sz = blockSize(pt, t.level);
  const tableLast = t.base + BigInt(ptesInTable(pt, t.level)) * sz - 1n;
  const first = lvlIdx(pt, r.va, t.level);
  const end = lvlIdx(pt, r.last < tableLast ? r.last : tableLast, t.level);
  for (let idx = first; idx <= end; idx++) {
    const pte = t.entries.get(idx);
    if (!pte) return false;
    const itemVa = entryIova(pt, t, idx);
    if (pte.kind === "leaf") {
      // Only the first entry can start before the range; the last may end after it.
      if (idx === first && (r.va & (sz - 1n)) !== 0n) return false;
      entryClear(pt, t, { index: idx, steps: acc.steps });
      acc.unmapped += sz;
      acc.leafLevels |= 1 << ptLevel(t.level);
      continue;
    }
    const itemLast = u64(itemVa + sz - 1n);
    const sub = { va: r.va > itemVa ? r.va : itemVa, last: r.last < itemLast ? r.last : itemLast };
    if (!unmapLevel(pt, tableGet(pt, pte.table), sub, acc)) return false;
    // A table the range covers whole goes once everything below it is cleared.
    if (r.va <= itemVa && r.last >= itemLast) {
      acc.freelist.push(pte.table);
      entryClear(pt, t, { index: idx, steps: acc.steps });
    }
  }
  return true;
}
