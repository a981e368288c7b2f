/**
 * The Arm LPAE page table code the SMMUv3 driver uses for stage 1 and stage 2: mapping runs
 * of equal pages (creating intermediate tables on the way), unmapping them, and the
 * invalidation requests it makes while doing so.
 *
 * Models arm_lpae_map_pages(), __arm_lpae_map(), arm_lpae_init_pte(),
 * arm_lpae_unmap_pages() and __arm_lpae_unmap() in drivers/iommu/io-pgtable-arm.c at
 * mainline as of May 2026 (after 33729a5fc0ca removed arm_lpae_split_blk_unmap(): unmapping
 * part of a block WARNs once and unmaps nothing).
 *
 * Unmap semantics in short: tables are freed only when an unmap's page size equals the span
 * of the entry that points to them (an unmap that empties a table by smaller pages leaves
 * it in place); a freed table is flushed at once with `tlb_flush_walk` and freed before the
 * unmap goes on; cleared leaves go to the gather through `tlb_add_page` unless the gather
 * is queued for a flush queue.
 * @module
 */

import type { Errno, Ret } from "../errno.ts";
import { warn } from "../events.ts";
import { type IotlbGather, iotlbGatherAddPage, iotlbGatherQueued } from "./gather.ts";
import {
  ARM_LPAE_MAX_LEVELS,
  blockSize,
  granuleSize,
  IOMMU_READ,
  IOMMU_WRITE,
  type IoPgtable,
  lvlIdx,
  maxEntries,
  type PtTable,
  tableGet,
} from "./pgtable.ts";
import { entryClear, leafSet, tableFreeTree, tableLink } from "./pte.ts";
import type { PtStep } from "./steps.ts";

/** Result of {@link armLpaeMapPages}. */
export interface MapPagesResult {
  /** 0 or the errno. */
  readonly ret: Ret;
  /** Bytes mapped, also on error (the core unmaps them again). */
  readonly mapped: bigint;
  /** Writes and requests, in order. */
  readonly steps: PtStep[];
}

/** Result of an unmap. */
export interface UnmapPagesResult {
  /** Bytes unmapped (0 on error). */
  readonly unmapped: bigint;
  /** Writes and requests, in order. */
  readonly steps: PtStep[];
}

interface MapCtx {
  readonly iova: bigint;
  readonly paddr: bigint;
  readonly pgsize: bigint;
  readonly pgcount: bigint;
  readonly prot: number;
  mapped: bigint;
  readonly steps: PtStep[];
}

function err(errno: Errno): Ret {
  return { errno };
}

// The "we require an unmap first" and "nothing mapped here" WARNs are silenced by
// IO_PGTABLE_QUIRK_NO_WARN.
function warnMisuse(pt: IoPgtable, fn: string, what: string): void {
  if (!pt.noWarn) warn(pt.log, fn, what);
}

// WARN_ONCE fires once per boot: once per World's log here.
function warnOnce(pt: IoPgtable, fn: string, what: string): void {
  const seen = pt.log.events.some((e) => e.kind === "warn" && e.fn === fn && e.what === what);
  if (!seen) warn(pt.log, fn, what);
}

/**
 * Follows arm_lpae_map_pages(): maps `pgcount` pages of `pgsize` at `iova` → `paddr`, as
 * many as fit in the table page that holds the first one.
 */
export function armLpaeMapPages(
  pt: IoPgtable,
  opts: {
    readonly iova: bigint;
    readonly paddr: bigint;
    readonly pgsize: bigint;
    readonly pgcount: bigint;
    readonly prot?: number;
    readonly steps?: PtStep[];
  },
): MapPagesResult {
  const c: MapCtx = {
    ...opts,
    prot: opts.prot ?? IOMMU_READ | IOMMU_WRITE,
    mapped: 0n,
    steps: opts.steps ?? [],
  };
  const fn = "arm_lpae_map_pages";
  let ret: Ret;
  if (c.pgsize === 0n || (c.pgsize & pt.pgsizeBitmap) !== c.pgsize) {
    warn(pt.log, fn, "WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)");
    ret = err("EINVAL");
  } else if (c.iova >> BigInt(pt.ias) || c.paddr >> BigInt(pt.oas)) {
    warn(pt.log, fn, "WARN_ON(iaext || paddr >> cfg->oas)");
    ret = err("ERANGE");
  } else if (!(c.prot & (IOMMU_READ | IOMMU_WRITE))) {
    ret = err("EINVAL");
  } else {
    ret = lpaeMap(pt, c, tableGet(pt, pt.root));
  }
  return { ret, mapped: c.mapped, steps: c.steps };
}

// Follows __arm_lpae_map(): walks down to the level whose entries span one page, creating
// the tables that are missing.
function lpaeMap(pt: IoPgtable, c: MapCtx, root: PtTable): Ret {
  let t = root;
  for (;;) {
    const idx = lvlIdx(pt, c.iova, t.level);
    if (c.pgsize === blockSize(pt, t.level)) {
      const n = Math.min(Number(c.pgcount), maxEntries(pt, t, idx));
      const ret = initPte(pt, c, t, { idx, n });
      if (ret === 0) c.mapped += BigInt(n) * c.pgsize;
      return ret;
    }
    if (t.level >= ARM_LPAE_MAX_LEVELS - 1) {
      warn(pt.log, "__arm_lpae_map", "WARN_ON(lvl >= ARM_LPAE_MAX_LEVELS - 1)");
      return err("EINVAL");
    }
    const pte = t.entries.get(idx);
    if (!pte) {
      t = tableLink(pt, t, { index: idx, steps: c.steps });
    } else if (pte.kind === "leaf") {
      warnMisuse(pt, "__arm_lpae_map", "We require an unmap first");
      return err("EEXIST");
    } else {
      t = tableGet(pt, pte.table);
    }
  }
}

// Follows arm_lpae_init_pte(): refuses to overwrite a leaf; a table where a block goes is
// unmapped and freed first (with its walk flush). Only then are the leaves written.
function initPte(pt: IoPgtable, c: MapCtx, t: PtTable, at: { idx: number; n: number }): Ret {
  const sz = blockSize(pt, t.level);
  for (let i = 0; i < at.n; i++) {
    const pte = t.entries.get(at.idx + i);
    if (pte?.kind === "leaf") {
      warnMisuse(pt, "arm_lpae_init_pte", "We require an unmap first");
      return err("EEXIST");
    }
    if (pte?.kind === "table") {
      const iova = c.iova + BigInt(i) * sz;
      const r = lpaeUnmap(pt, null, t, { iova, size: sz, pgcount: 1n, steps: c.steps });
      if (r !== sz) {
        warn(pt.log, "arm_lpae_init_pte", "WARN_ON(__arm_lpae_unmap() != sz)");
        return err("EINVAL");
      }
    }
  }
  for (let i = 0; i < at.n; i++) {
    const oa = c.paddr + BigInt(i) * sz;
    leafSet(pt, t, { index: at.idx + i, oa, prot: c.prot, steps: c.steps });
  }
  return 0;
}

/**
 * Follows arm_lpae_unmap_pages(): unmaps up to `pgcount` pages of `pgsize` at `iova`,
 * stopping at the end of the table page or at the first hole. `gather` null means a caller
 * without a gather (the map path replacing a table), which adds no pages.
 */
export function armLpaeUnmapPages(
  pt: IoPgtable,
  gather: IotlbGather | null,
  opts: {
    readonly iova: bigint;
    readonly pgsize: bigint;
    readonly pgcount: bigint;
    readonly steps?: PtStep[];
  },
): UnmapPagesResult {
  const steps = opts.steps ?? [];
  const fn = "arm_lpae_unmap_pages";
  const { iova, pgsize, pgcount } = opts;
  if (pgsize === 0n || (pgsize & pt.pgsizeBitmap) !== pgsize || pgcount === 0n) {
    warn(pt.log, fn, "WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)");
    return { unmapped: 0n, steps };
  }
  if (iova >> BigInt(pt.ias)) {
    warn(pt.log, fn, "WARN_ON(iaext)");
    return { unmapped: 0n, steps };
  }
  const root = tableGet(pt, pt.root);
  return { unmapped: lpaeUnmap(pt, gather, root, { iova, size: pgsize, pgcount, steps }), steps };
}

interface UnmapArgs {
  readonly iova: bigint;
  readonly size: bigint;
  readonly pgcount: bigint;
  readonly steps: PtStep[];
}

// Follows __arm_lpae_unmap(): walks down from `start` to the level whose entries span
// `size`. Landing on a bigger leaf on the way means a partial unmap of a block, which
// mainline no longer splits.
function lpaeUnmap(pt: IoPgtable, g: IotlbGather | null, start: PtTable, a: UnmapArgs): bigint {
  let t = start;
  for (;;) {
    const idx = lvlIdx(pt, a.iova, t.level);
    const pte = t.entries.get(idx);
    if (!pte) {
      warnMisuse(pt, "__arm_lpae_unmap", "WARN_ON(!pte)");
      return 0n;
    }
    if (a.size === blockSize(pt, t.level)) return unmapEntries(pt, g, t, { ...a, idx });
    if (pte.kind === "leaf") {
      warnOnce(pt, "__arm_lpae_unmap", "Unmap of a partial large IOPTE is not allowed");
      return 0n;
    }
    t = tableGet(pt, pte.table);
  }
}

// The matching-level half of __arm_lpae_unmap(): table entries are cleared, their walks
// flushed and their tables freed one by one; then the leaves are cleared together and
// handed to the gather.
function unmapEntries(
  pt: IoPgtable,
  g: IotlbGather | null,
  t: PtTable,
  a: UnmapArgs & { readonly idx: number },
): bigint {
  const n = Math.min(Number(a.pgcount), maxEntries(pt, t, a.idx));
  let i = 0;
  for (; i < n; i++) {
    const pte = t.entries.get(a.idx + i);
    if (!pte) {
      warnMisuse(pt, "__arm_lpae_unmap", "WARN_ON(!pte)");
      break;
    }
    if (pte.kind === "table") {
      entryClear(pt, t, { index: a.idx + i, steps: a.steps });
      // The walk cache may still point into the table: flush before its page is reused.
      const iova = a.iova + BigInt(i) * a.size;
      a.steps.push({ op: "flush_walk", iova, size: a.size, granule: granuleSize(pt) });
      tableFreeTree(pt, pte.table, a.steps);
    }
  }
  for (let j = 0; j < i; j++) entryClear(pt, t, { index: a.idx + j, steps: a.steps });
  if (g !== null && !iotlbGatherQueued(g)) {
    for (let j = 0; j < i; j++) {
      iotlbGatherAddPage(pt, g, {
        iova: a.iova + BigInt(j) * a.size,
        size: a.size,
        steps: a.steps,
      });
    }
  }
  return BigInt(i) * a.size;
}
