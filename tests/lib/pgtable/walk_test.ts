import assert from "node:assert/strict";
import { iommuMap, iommuUnmap } from "../../../lib/pgtable/iommu.ts";
import { IOMMU_READ, SZ_1G, SZ_2M, SZ_4K, tableGet } from "../../../lib/pgtable/pgtable.ts";
import {
  ioPgtableIovaToPhys,
  ioPgtableLeaves,
  ioPgtableLinkedTables,
  ioPgtableWalk,
} from "../../../lib/pgtable/walk.ts";
import { allocPt } from "./arbitraries.ts";

Deno.test("ioPgtableWalk() reads one descriptor per level down to a 4K page", () => {
  const pt = allocPt().pt;
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: SZ_4K, prot: IOMMU_READ });
  const r = ioPgtableWalk(pt, 0x40123n);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual([r.oa, r.iova, r.pgsize, r.level, r.prot], [
    0x80040123n,
    0x40000n,
    SZ_4K,
    3,
    IOMMU_READ,
  ]);
  // 0x40000: index 0 at levels 0-2, 0x40 at level 3; tables in creation order 0..3.
  assert.deepEqual(r.path.map((s) => [s.level, s.table, s.index, s.entry]), [
    [0, 0, 0, "table"],
    [1, 1, 0, "table"],
    [2, 2, 0, "table"],
    [3, 3, 0x40, "leaf"],
  ]);
  assert.deepEqual(r.path.map((s) => [s.base, s.size]), [
    [0n, 1n << 39n],
    [0n, SZ_1G],
    [0n, SZ_2M],
    [0x40000n, SZ_4K],
  ]);
  assert.equal(r.path[3].pa, tableGet(pt, 3).pa);
});

Deno.test("ioPgtableWalk() stops at a 1G block at level 1", () => {
  const pt = allocPt().pt;
  iommuMap(pt, { iova: SZ_1G, paddr: 0x1_0000_0000n, size: SZ_1G });
  const r = ioPgtableWalk(pt, SZ_1G + 0x12345678n);
  assert.ok(r.ok);
  assert.deepEqual([r.oa, r.pgsize, r.level, r.path.length], [0x1_1234_5678n, SZ_1G, 1, 2]);
});

Deno.test("ioPgtableWalk() faults at the level of the first invalid descriptor", () => {
  const pt = allocPt().pt;
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: SZ_4K });
  const hole = ioPgtableWalk(pt, 0x41000n);
  assert.deepEqual([hole.ok, hole.ok ? 0 : hole.reason, hole.level, hole.path.length], [
    false,
    "invalid",
    3,
    4,
  ]);
  const far = ioPgtableWalk(pt, 1n << 40n);
  assert.deepEqual([far.ok, far.level, far.path.at(-1)?.entry], [false, 0, "invalid"]);
  const out = ioPgtableWalk(pt, 1n << 48n);
  assert.deepEqual([out.ok, out.ok ? 0 : out.reason, out.path.length], [false, "out_of_range", 0]);
});

Deno.test("ioPgtableWalk() sees a table the unmap left empty: fault at the leaf level", () => {
  const pt = allocPt().pt;
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: SZ_4K });
  iommuUnmap(pt, { iova: 0x40000n, size: SZ_4K });
  const r = ioPgtableWalk(pt, 0x40000n);
  assert.deepEqual([r.ok, r.level], [false, 3]);
});

Deno.test("ioPgtableIovaToPhys() is 0 without a translation", () => {
  const pt = allocPt().pt;
  assert.equal(ioPgtableIovaToPhys(pt, 42n), 0n);
  iommuMap(pt, { iova: 0n, paddr: 0x80000000n, size: SZ_2M });
  assert.equal(ioPgtableIovaToPhys(pt, 42n), 0x8000002an);
});

Deno.test("ioPgtableLeaves() lists leaves in address order, ioPgtableLinkedTables() the tables", () => {
  const pt = allocPt().pt;
  iommuMap(pt, { iova: 2n * SZ_2M, paddr: 0x80400000n, size: SZ_2M });
  iommuMap(pt, { iova: SZ_4K, paddr: 0x90001000n, size: SZ_4K });
  iommuMap(pt, { iova: SZ_1G, paddr: 0x1_0000_0000n, size: SZ_1G });
  assert.deepEqual(ioPgtableLeaves(pt).map((l) => [l.iova, l.size, l.oa, l.level]), [
    [SZ_4K, SZ_4K, 0x90001000n, 3],
    [2n * SZ_2M, SZ_2M, 0x80400000n, 2],
    [SZ_1G, SZ_1G, 0x1_0000_0000n, 1],
  ]);
  assert.deepEqual([...ioPgtableLinkedTables(pt)].sort(), [0, 1, 2, 3]);
});
