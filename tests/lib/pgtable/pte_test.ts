import assert from "node:assert/strict";
import { tableGet } from "../../../lib/pgtable/pgtable.ts";
import { entryClear, leafSet, tableFreeTree, tableLink } from "../../../lib/pgtable/pte.ts";
import type { PtStep } from "../../../lib/pgtable/steps.ts";
import { allocPt } from "./arbitraries.ts";

Deno.test("tableLink() gives each table a new id and an aligned, unique address", () => {
  const pt = allocPt().pt;
  const steps: PtStep[] = [];
  const root = tableGet(pt, pt.root);
  const a = tableLink(pt, root, { index: 3, steps });
  const b = tableLink(pt, a, { index: 5, steps });
  assert.deepEqual([a.id, a.level, a.base], [1, 1, 3n << 39n]);
  assert.deepEqual([b.id, b.level, b.base], [2, 2, (3n << 39n) + (5n << 30n)]);
  assert.deepEqual([a.pa % 0x1000n, b.pa - a.pa], [0n, 0x1000n]);
  assert.deepEqual(steps[1], {
    op: "table_alloc",
    table: 2,
    pa: b.pa,
    level: 2,
    base: b.base,
    parent: 1,
    index: 5,
  });
});

Deno.test("entryClear() records a leaf or a table link, and nothing for an empty entry", () => {
  const pt = allocPt().pt;
  const steps: PtStep[] = [];
  const l1 = tableLink(pt, tableGet(pt, pt.root), { index: 0, steps });
  const l2 = tableLink(pt, l1, { index: 0, steps });
  leafSet(pt, l1, { index: 1, oa: 0x80000000n, prot: 3, steps });
  steps.length = 0;
  entryClear(pt, l1, { index: 1, steps });
  entryClear(pt, l1, { index: 0, steps });
  assert.equal(entryClear(pt, l1, { index: 7, steps }), undefined);
  assert.deepEqual(steps, [
    {
      op: "leaf_clear",
      table: 1,
      index: 1,
      level: 1,
      iova: 0x40000000n,
      size: 0x40000000n,
      oa: 0x80000000n,
    },
    { op: "table_clear", table: 1, index: 0, level: 1, iova: 0n, size: 0x40000000n, child: l2.id },
  ]);
});

Deno.test("tableFreeTree() frees children in index order before their parent", () => {
  const pt = allocPt().pt;
  const steps: PtStep[] = [];
  const top = tableLink(pt, tableGet(pt, pt.root), { index: 0, steps });
  const b = tableLink(pt, top, { index: 9, steps });
  const a = tableLink(pt, top, { index: 2, steps });
  const c = tableLink(pt, a, { index: 0, steps });
  steps.length = 0;
  tableFreeTree(pt, top.id, steps);
  assert.deepEqual(steps.map((s) => s.op === "table_free" ? s.table : -1), [
    c.id,
    a.id,
    b.id,
    top.id,
  ]);
  assert.equal(pt.tables.size, 1);
});
