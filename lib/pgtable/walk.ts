/**
 * The table walk a translating IOMMU does for one input address: the descriptors it reads
 * (table id, level, index) and the result, a leaf (output address, page size, level) or a
 * fault at the level where the walk stopped. An IOTLB and a walk cache fill themselves from
 * the path and can later check each cached descriptor against the current tables.
 *
 * Models the walk of arm_lpae_iova_to_phys() / arm_lpae_pgtable_walk() in
 * drivers/iommu/io-pgtable-arm.c (and the iommupt iova_to_phys() walk) at mainline as of
 * May 2026.
 * @module
 */

import { blockSize, entryIova, type IoPgtable, lvlIdx, type PtTable, tableGet } from "./pgtable.ts";

/** One descriptor read by the walk. */
export interface WalkStep {
  /** Level of the table read. */
  readonly level: number;
  /** Id of the table read. */
  readonly table: number;
  /** Synthetic physical address of that table. */
  readonly pa: bigint;
  /** Index of the descriptor read. */
  readonly index: number;
  /** First input address the descriptor covers. */
  readonly base: bigint;
  /** Bytes the descriptor covers. */
  readonly size: bigint;
  /** What the descriptor was. */
  readonly entry: "table" | "leaf" | "invalid";
}

/** The outcome of {@link ioPgtableWalk}. */
export type WalkResult =
  | {
    readonly ok: true;
    /** Output address of the input address (page offset included). */
    readonly oa: bigint;
    /** First input address of the leaf. */
    readonly iova: bigint;
    /** Size of the leaf (page or block). */
    readonly pgsize: bigint;
    /** Level of the leaf. */
    readonly level: number;
    /** `IOMMU_READ` / `IOMMU_WRITE` bits of the leaf. */
    readonly prot: number;
    /** Descriptors read, root first. */
    readonly path: readonly WalkStep[];
  }
  | {
    readonly ok: false;
    /** `invalid`: an invalid descriptor; `out_of_range`: beyond the input address size. */
    readonly reason: "invalid" | "out_of_range";
    /** Level at which the walk stopped. */
    readonly level: number;
    /** Descriptors read, root first (empty when out of range). */
    readonly path: readonly WalkStep[];
  };

/** Walks the tables for `iova` from the root, as the hardware would. */
export function ioPgtableWalk(pt: IoPgtable, iova: bigint): WalkResult {
  const path: WalkStep[] = [];
  if (iova >> BigInt(pt.ias)) {
    return { ok: false, reason: "out_of_range", level: pt.startLevel, path };
  }
  let t: PtTable = tableGet(pt, pt.root);
  for (;;) {
    const index = lvlIdx(pt, iova, t.level);
    const pte = t.entries.get(index);
    const size = blockSize(pt, t.level);
    const base = entryIova(pt, t, index);
    const entry = pte ? pte.kind : "invalid";
    path.push({ level: t.level, table: t.id, pa: t.pa, index, base, size, entry });
    if (!pte) return { ok: false, reason: "invalid", level: t.level, path };
    if (pte.kind === "leaf") {
      const oa = pte.oa | (iova & (size - 1n));
      return { ok: true, oa, iova: base, pgsize: size, level: t.level, prot: pte.prot, path };
    }
    t = tableGet(pt, pte.table);
  }
}

/** Follows arm_lpae_iova_to_phys(): the output address, or 0 when nothing is mapped. */
export function ioPgtableIovaToPhys(pt: IoPgtable, iova: bigint): bigint {
  const r = ioPgtableWalk(pt, iova);
  return r.ok ? r.oa : 0n;
}

/** One mapped leaf. */
export interface LeafInfo {
  /** First input address. */
  readonly iova: bigint;
  /** Bytes covered. */
  readonly size: bigint;
  /** First output address. */
  readonly oa: bigint;
  /** Level of the leaf. */
  readonly level: number;
  /** Table holding it. */
  readonly table: number;
  /** Its index there. */
  readonly index: number;
}

/** Every leaf reachable from the root, in input-address order. */
export function ioPgtableLeaves(pt: IoPgtable): LeafInfo[] {
  const out: LeafInfo[] = [];
  collect(pt, tableGet(pt, pt.root), out);
  return out;
}

function collect(pt: IoPgtable, t: PtTable, out: LeafInfo[]): void {
  const indexes = [...t.entries.keys()].sort((a, b) => a - b);
  for (const index of indexes) {
    const pte = t.entries.get(index)!;
    if (pte.kind === "table") {
      collect(pt, tableGet(pt, pte.table), out);
      continue;
    }
    const size = blockSize(pt, t.level);
    out.push({
      iova: entryIova(pt, t, index),
      size,
      oa: pte.oa,
      level: t.level,
      table: t.id,
      index,
    });
  }
}

/** Ids of the tables reachable from the root (the root included). */
export function ioPgtableLinkedTables(pt: IoPgtable): Set<number> {
  const seen = new Set<number>();
  const stack = [pt.root];
  while (stack.length) {
    const id = stack.pop()!;
    seen.add(id);
    for (const pte of tableGet(pt, id).entries.values()) {
      if (pte.kind === "table") stack.push(pte.table);
    }
  }
  return seen;
}
