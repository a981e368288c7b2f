/**
 * Writing page-table entries, each write recorded as a {@link PtChange} step: linking a new
 * table, setting and clearing leaves, unlinking tables and freeing table pages (alone or a
 * whole subtree, as io-pgtable-arm's __arm_lpae_free_pgtable() does).
 * Models the entry writes of drivers/iommu/io-pgtable-arm.c and
 * drivers/iommu/generic_pt/iommu_pt.h at mainline as of May 2026.
 * @module
 */

import {
  blockSize,
  entryIova,
  type IoPgtable,
  type Pte,
  type PtTable,
  tableAlloc,
  tableGet,
} from "./pgtable.ts";
import type { PtChange, PtStep } from "./steps.ts";

/** Allocates a table one level below `parent` and links it at `parent[index]`. */
export function tableLink(
  pt: IoPgtable,
  parent: PtTable,
  opts: { readonly index: number; readonly steps: PtStep[] },
): PtTable {
  const child = tableAlloc(pt, parent.level + 1, entryIova(pt, parent, opts.index));
  parent.entries.set(opts.index, { kind: "table", table: child.id });
  opts.steps.push({
    op: "table_alloc",
    table: child.id,
    pa: child.pa,
    level: child.level,
    base: child.base,
    parent: parent.id,
    index: opts.index,
  });
  return child;
}

/** Writes a leaf at `t[index]`. */
export function leafSet(
  pt: IoPgtable,
  t: PtTable,
  opts: { readonly index: number; readonly oa: bigint; readonly prot: number; steps: PtStep[] },
): void {
  t.entries.set(opts.index, { kind: "leaf", oa: opts.oa, prot: opts.prot });
  opts.steps.push({
    op: "leaf_set",
    table: t.id,
    index: opts.index,
    level: t.level,
    iova: entryIova(pt, t, opts.index),
    size: blockSize(pt, t.level),
    oa: opts.oa,
  });
}

/** Clears `t[index]` (a leaf or a table link); returns the old entry, if any. */
export function entryClear(
  pt: IoPgtable,
  t: PtTable,
  opts: { readonly index: number; readonly steps: PtStep[] },
): Pte | undefined {
  const old = t.entries.get(opts.index);
  if (!old) return undefined;
  t.entries.delete(opts.index);
  const at = {
    table: t.id,
    index: opts.index,
    level: t.level,
    iova: entryIova(pt, t, opts.index),
    size: blockSize(pt, t.level),
  };
  const change: PtChange = old.kind === "leaf"
    ? { op: "leaf_clear", ...at, oa: old.oa }
    : { op: "table_clear", ...at, child: old.table };
  opts.steps.push(change);
  return old;
}

/** Frees one table page, which must no longer be linked. */
export function tableFree(pt: IoPgtable, id: number, steps: PtStep[]): void {
  const t = tableGet(pt, id);
  pt.tables.delete(id);
  steps.push({ op: "table_free", table: id, pa: t.pa, level: t.level });
}

/**
 * Follows __arm_lpae_free_pgtable(): frees the child tables first, in index order, then the
 * table itself. Leaves inside are dropped with their pages, not cleared one by one.
 */
export function tableFreeTree(pt: IoPgtable, id: number, steps: PtStep[]): void {
  const t = tableGet(pt, id);
  const children: number[] = [];
  for (const [index, pte] of t.entries) if (pte.kind === "table") children[index] = pte.table;
  for (const child of children) if (child !== undefined) tableFreeTree(pt, child, steps);
  tableFree(pt, id, steps);
}
