import assert from "node:assert/strict";
import { iotlbGatherInit } from "../../../lib/pgtable/gather.ts";
import { iommuMap, iommuUnmap } from "../../../lib/pgtable/iommu.ts";
import {
  iommuPtGatherRangePages,
  iommuPtMapRange,
  iommuPtUnmapRange,
} from "../../../lib/pgtable/iommu_pt.ts";
import { type IoPgtableAllocOptions, SZ_2M, SZ_4K } from "../../../lib/pgtable/pgtable.ts";
import type { PtStep } from "../../../lib/pgtable/steps.ts";
import { ioPgtableIovaToPhys, ioPgtableLeaves } from "../../../lib/pgtable/walk.ts";
import { allocPt, gathers, warns } from "./arbitraries.ts";

function alloc(opts: Partial<IoPgtableAllocOptions> = {}) {
  return allocPt({ fmt: "vtdss", ...opts });
}

Deno.test("iommuUnmap() on VT-d gathers the range without a page size", () => {
  const { pt } = alloc();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  const r = iommuUnmap(pt, { iova: 0x40000n, size: 0x2000n });
  const [g] = gathers(r.steps);
  assert.deepEqual([g.start, g.end, g.pgsize, g.freelistEmpty, g.leafLevels, g.tableLevels], [
    0x40000n,
    0x41fffn,
    0n,
    true,
    0b1,
    0,
  ]);
});

Deno.test("iommuUnmap() on VT-d frees a covered table after the sync, with no flush_walk", () => {
  const { pt } = alloc();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80201000n, size: SZ_2M }); // 512 4K pages in one table
  const r = iommuUnmap(pt, { iova: SZ_2M, size: SZ_2M });
  assert.equal(r.unmapped, SZ_2M);
  const ops = r.steps.map((s) => s.op);
  assert.equal(ops.filter((o) => o === "leaf_clear").length, 512);
  assert.deepEqual(ops.slice(512), ["table_clear", "iotlb_sync", "table_free"]);
  const [g] = gathers(r.steps);
  // freelist non-empty → VT-d flushes with IH = 0; table bit 1: a table of leaves went.
  assert.deepEqual([g.start, g.end, g.freelistEmpty, g.leafLevels, g.tableLevels], [
    SZ_2M,
    2n * SZ_2M - 1n,
    false,
    0b1,
    0b10,
  ]);
});

Deno.test("iommuPtUnmapRange() removes a whole large leaf when the range starts at it", () => {
  const { log, pt } = alloc();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_2M });
  const g = iotlbGatherInit();
  const r = iommuPtUnmapRange(pt, g, { iova: SZ_2M, len: SZ_4K });
  assert.equal(r.unmapped, SZ_2M);
  assert.deepEqual([g.start, g.end], [SZ_2M, 2n * SZ_2M - 1n]);
  assert.equal(ioPgtableIovaToPhys(pt, SZ_2M), 0n);
  assert.deepEqual(warns(log.events), []);
});

Deno.test("iommuPtUnmapRange() starting inside a large leaf unmaps nothing, no WARN", () => {
  const { log, pt } = alloc();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_2M });
  const g = iotlbGatherInit();
  assert.equal(iommuPtUnmapRange(pt, g, { iova: SZ_2M + SZ_4K, len: SZ_4K }).unmapped, 0n);
  assert.equal(ioPgtableIovaToPhys(pt, SZ_2M), 0x80200000n);
  assert.deepEqual(warns(log.events), []);
});

Deno.test("iommuPtUnmapRange() stops at a hole", () => {
  const { pt } = alloc();
  iommuMap(pt, { iova: 0n, paddr: 0x80000000n, size: SZ_4K });
  iommuMap(pt, { iova: 0x2000n, paddr: 0x80002000n, size: SZ_4K });
  const g = iotlbGatherInit();
  assert.equal(iommuPtUnmapRange(pt, g, { iova: 0n, len: 0x3000n }).unmapped, SZ_4K);
  assert.deepEqual([g.start, g.end], [0n, 0xfffn]);
  assert.equal(ioPgtableIovaToPhys(pt, 0x2000n), 0x80002000n);
});

Deno.test("iommuPtUnmapRange() with nothing unmapped at 0 gathers everything (kernel wrap)", () => {
  const { pt } = alloc();
  const g = iotlbGatherInit();
  assert.equal(iommuPtUnmapRange(pt, g, { iova: 0n, len: SZ_4K }).unmapped, 0n);
  // add_range(0, 0): end = 0 - 1.
  assert.deepEqual([g.start, g.end], [0n, (1n << 64n) - 1n]);
});

Deno.test("iommuPtMapRange() refuses to map over a leaf with -EADDRINUSE, no WARN", () => {
  const { log, pt } = alloc();
  iommuMap(pt, { iova: 0x3000n, paddr: 0x80003000n, size: SZ_4K });
  const r = iommuPtMapRange(pt, { iova: 0x1000n, paddr: 0x90001000n, len: 0x4000n });
  // Unlike io-pgtable-arm, the leaves before the conflict are written (and reported).
  assert.deepEqual([r.ret, r.mapped], [{ errno: "EADDRINUSE" }, 0x2000n]);
  const block = iommuPtMapRange(pt, { iova: 0n, paddr: 0n, len: SZ_2M });
  assert.deepEqual(block.ret, { errno: "EADDRINUSE" }); // a table with leaves below
  assert.deepEqual(warns(log.events), []);
});

Deno.test("iommuMap() on VT-d unrolls the leaves written before a conflict", () => {
  const { pt } = alloc();
  iommuMap(pt, { iova: 0x3000n, paddr: 0x80003000n, size: SZ_4K });
  const r = iommuMap(pt, { iova: 0x1000n, paddr: 0x90001000n, size: 0x4000n });
  assert.deepEqual([r.ret, r.mapped], [{ errno: "EADDRINUSE" }, 0x2000n]);
  const [g] = gathers(r.steps);
  assert.deepEqual([g.start, g.end], [0x1000n, 0x2fffn]);
  assert.deepEqual(ioPgtableLeaves(pt).map((l) => l.iova), [0x3000n]);
});

Deno.test("iommuPtMapRange() replaces an empty table by a block and syncs before freeing it", () => {
  const { pt } = alloc();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_4K });
  iommuUnmap(pt, { iova: SZ_2M, size: SZ_4K }); // the level-3 table stays, empty
  const r = iommuPtMapRange(pt, { iova: SZ_2M, paddr: 0x80200000n, len: SZ_2M });
  assert.equal(r.ret, 0);
  assert.deepEqual(r.steps.map((s) => s.op), [
    "table_clear",
    "leaf_set",
    "iotlb_sync",
    "table_free",
  ]);
  const [g] = gathers(r.steps);
  assert.deepEqual([g.start, g.end, g.freelistEmpty, g.tableLevels], [
    SZ_2M,
    2n * SZ_2M - 1n,
    false,
    0b10,
  ]);
});

Deno.test("iommuPtMapRange() checks its arguments like the kernel", async (t) => {
  const rows: readonly [
    string,
    { iova: bigint; paddr: bigint; len: bigint; prot?: number },
    string,
  ][] = [
    ["no access", { iova: 0n, paddr: 0n, len: SZ_4K, prot: 0 }, "EINVAL"],
    ["paddr beyond oas", { iova: 0n, paddr: 1n << 48n, len: SZ_4K }, "ERANGE"],
    ["zero length", { iova: 0n, paddr: 0n, len: 0n }, "EINVAL"],
    ["beyond the input range", { iova: 1n << 48n, paddr: 0n, len: SZ_4K }, "ERANGE"],
    ["wrapping", { iova: (1n << 64n) - SZ_4K, paddr: 0n, len: 0x2000n }, "EOVERFLOW"],
    ["misaligned", { iova: 0x800n, paddr: 0n, len: SZ_4K }, "ENXIO"],
  ];
  for (const [name, o, errno] of rows) {
    await t.step(name, () => {
      const { pt } = alloc();
      assert.deepEqual(iommuPtMapRange(pt, o).ret, { errno });
    });
  }
});

Deno.test("iommuPtGatherRangePages() syncs first only with NO_GAPS, and not when queued", () => {
  const { pt } = alloc({ noGaps: true });
  const g = iotlbGatherInit();
  const steps: PtStep[] = [];
  const add = (iova: bigint) =>
    iommuPtGatherRangePages(pt, g, { iova, len: SZ_4K, freelist: [], leafLevels: 1, steps });
  add(0n);
  add(0x1000n);
  add(0x10000n);
  assert.deepEqual(gathers(steps).map((x) => [x.start, x.end]), [[0n, 0x1fffn]]);
  const plain = alloc().pt;
  const g2 = iotlbGatherInit();
  for (const iova of [0n, 0x10000n]) {
    iommuPtGatherRangePages(plain, g2, {
      iova,
      len: SZ_4K,
      freelist: [],
      leafLevels: 1,
      steps: [],
    });
  }
  assert.deepEqual([g2.start, g2.end], [0n, 0x10fffn]); // FLUSH_RANGE: gaps are fine
  const q = iotlbGatherInit({ queued: true });
  iommuPtGatherRangePages(plain, q, {
    iova: 0n,
    len: SZ_4K,
    freelist: [],
    leafLevels: 1,
    steps: [],
  });
  assert.deepEqual([q.start, q.end, q.leafLevels], [(1n << 64n) - 1n, 0n, 0]);
});
