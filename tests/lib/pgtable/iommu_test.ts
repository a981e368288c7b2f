import assert from "node:assert/strict";
import fc from "fast-check";
import {
  iommuDmaUnmap,
  type IovaFq,
  iovaFqCreate,
  iovaFqFlush,
} from "../../../lib/pgtable/flush_queue.ts";
import { iommuIotlbSync, iotlbGatherInit } from "../../../lib/pgtable/gather.ts";
import {
  iommuFlushIotlbAll,
  iommuIovaToPhys,
  iommuMap,
  iommuUnmap,
  iommuUnmapFast,
} from "../../../lib/pgtable/iommu.ts";
import { type PgtableFmt, SZ_1G, SZ_2M, SZ_4K } from "../../../lib/pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../../../lib/pgtable/steps.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";
import {
  allocPt,
  arbPtOp,
  assertLeavesMatch,
  assertNoLeakedTables,
  assertTablesFreedSafely,
  covered,
  gathers,
  mapOpRange,
  type Mapping,
  overlaps,
  type PtOp,
  requestRanges,
  warns,
} from "./arbitraries.ts";

/** The gathers the driver's iotlb_sync saw, as [start, end, pgsize]. */
function syncs(steps: readonly PtStep[]): [bigint, bigint, bigint][] {
  return ptRequests(steps).flatMap((r) =>
    r.op === "iotlb_sync" ? [[r.gather.start, r.gather.end, r.gather.pgsize]] : []
  );
}

Deno.test("iommuUnmap() of two 4K pages syncs one gather [iova, iova+8K-1] pgsize 4K", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  const r = iommuUnmap(pt, { iova: 0x40000n, size: 0x2000n });
  assert.equal(r.unmapped, 0x2000n);
  assert.deepEqual(r.steps.map((s) => s.op), ["leaf_clear", "leaf_clear", "iotlb_sync"]);
  assert.deepEqual(syncs(r.steps), [[0x40000n, 0x41fffn, SZ_4K]]);
  const [g] = gathers(r.steps);
  assert.deepEqual([g.freelistEmpty, g.queued, g.leafLevels, g.tableLevels], [true, false, 0b1, 0]);
});

Deno.test("iommuUnmap() of a 2M block syncs pgsize 2M", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_2M });
  const r = iommuUnmap(pt, { iova: SZ_2M, size: SZ_2M });
  assert.deepEqual(syncs(r.steps), [[SZ_2M, 2n * SZ_2M - 1n, SZ_2M]]);
});

Deno.test("iommuUnmap() of a 2M run of 4K pages frees the level-3 table, flush_walk first", () => {
  const { pt } = allocPt();
  // paddr 4K off a 2M boundary: iommu_pgsize() can only use 4K pages.
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80201000n, size: SZ_2M });
  const r = iommuUnmap(pt, { iova: SZ_2M, size: SZ_2M });
  assert.equal(r.unmapped, SZ_2M);
  // Unmap aligns on the IOVA alone: one 2M unmap_pages() that meets the table entry.
  assert.deepEqual(r.steps.map((s) => s.op), [
    "table_clear",
    "flush_walk",
    "table_free",
    "iotlb_sync",
  ]);
  assert.deepEqual(ptRequests(r.steps), [
    { op: "flush_walk", iova: SZ_2M, size: SZ_2M, granule: SZ_4K },
    r.steps[3],
  ]);
  assert.deepEqual(syncs(r.steps), [[SZ_2M, 2n * SZ_2M - 1n, SZ_2M]]);
});

Deno.test("iommuUnmap() leaves a table emptied by 4K unmaps in place", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_4K });
  const tables = pt.tables.size;
  const r = iommuUnmap(pt, { iova: SZ_2M, size: SZ_4K });
  assert.equal(pt.tables.size, tables);
  assert.deepEqual(ptRequests(r.steps).map((s) => s.op), ["iotlb_sync"]);
});

Deno.test("iommuUnmap() of mixed page sizes syncs when the size changes", () => {
  const { pt } = allocPt();
  // 4K at 2M-4K, then a 2M block: iommu_pgsize() cuts both map and unmap the same way.
  const m = iommuMap(pt, { iova: 0x1ff000n, paddr: 0x801ff000n, size: 0x201000n });
  assert.deepEqual(
    m.steps.flatMap((s) => s.op === "leaf_set" ? [[s.iova, s.size]] : []),
    [[0x1ff000n, SZ_4K], [SZ_2M, SZ_2M]],
  );
  const r = iommuUnmap(pt, { iova: 0x1ff000n, size: 0x201000n });
  assert.deepEqual(syncs(r.steps), [[0x1ff000n, 0x1fffffn, SZ_4K], [
    SZ_2M,
    2n * SZ_2M - 1n,
    SZ_2M,
  ]]);
});

Deno.test("iommuUnmapFast() with one gather syncs between disjoint unmaps, merges adjacent", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  iommuMap(pt, { iova: 0x80000n, paddr: 0x80080000n, size: SZ_4K });
  const g = iotlbGatherInit();
  const steps: PtStep[] = [];
  iommuUnmapFast(pt, g, { iova: 0x40000n, size: SZ_4K, steps });
  iommuUnmapFast(pt, g, { iova: 0x41000n, size: SZ_4K, steps });
  assert.deepEqual(syncs(steps), []);
  iommuUnmapFast(pt, g, { iova: 0x80000n, size: SZ_4K, steps });
  iommuIotlbSync(pt, g, { steps });
  assert.deepEqual(syncs(steps), [[0x40000n, 0x41fffn, SZ_4K], [0x80000n, 0x80fffn, SZ_4K]]);
});

Deno.test("iommuUnmap() of part of a block WARNs once, unmaps nothing, still syncs", () => {
  const { log, pt } = allocPt();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_2M });
  const r = iommuUnmap(pt, { iova: SZ_2M, size: SZ_4K });
  assert.equal(r.unmapped, 0n);
  assert.deepEqual(syncs(r.steps), [[(1n << 64n) - 1n, 0n, 0n]]); // empty gather: SMMUv3 returns
  assert.deepEqual(warns(log.events), [
    "__arm_lpae_unmap: Unmap of a partial large IOPTE is not allowed",
  ]);
  assert.equal(iommuIovaToPhys(pt, SZ_2M + 0x123n), 0x80200123n);
});

Deno.test("iommuUnmap() of an unaligned range unmaps nothing", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: 0n, paddr: 0n, size: 0x2000n });
  assert.equal(iommuUnmap(pt, { iova: 0x800n, size: SZ_4K }).unmapped, 0n);
  assert.equal(iommuUnmap(pt, { iova: 0n, size: 0x1800n }).unmapped, 0n);
});

Deno.test("iommuMap() over a mapping fails -EEXIST with a WARN and unrolls", () => {
  const { log, pt } = allocPt();
  iommuMap(pt, { iova: 0x3000n, paddr: 0x80003000n, size: SZ_4K });
  // 0x1000..0x4fff: the first run of 4K pages hits the leaf at 0x3000 before writing.
  const r = iommuMap(pt, { iova: 0x1000n, paddr: 0x90001000n, size: 0x4000n });
  assert.deepEqual([r.ret, r.mapped], [{ errno: "EEXIST" }, 0n]);
  // The unroll is an iommu_unmap() of 0 bytes, which still calls iotlb_sync; no sync_map.
  assert.deepEqual(r.steps.map((s) => s.op), ["iotlb_sync"]);
  assert.deepEqual(warns(log.events), ["arm_lpae_init_pte: We require an unmap first"]);
});

Deno.test("iommuMap() unrolls the pages it mapped before failing", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80200000n, size: SZ_4K });
  // 2M-8K..2M+4K: two 4K pages map, then the third run meets the leaf at 2M.
  const r = iommuMap(pt, { iova: SZ_2M - 0x2000n, paddr: 0x90000000n - 0x2000n, size: 0x3000n });
  assert.deepEqual([r.ret, r.mapped], [{ errno: "EEXIST" }, 0x2000n]);
  assert.deepEqual(syncs(r.steps), [[SZ_2M - 0x2000n, SZ_2M - 1n, SZ_4K]]);
  assert.equal(iommuIovaToPhys(pt, SZ_2M - SZ_4K), 0n);
  assert.equal(iommuIovaToPhys(pt, SZ_2M), 0x80200000n);
});

Deno.test("iommuMap() -EINVAL on a misaligned address or size, nothing written", () => {
  const { pt } = allocPt();
  for (
    const o of [{ iova: 0x800n, paddr: 0n, size: SZ_4K }, { iova: 0n, paddr: 0x10n, size: SZ_4K }, {
      iova: 0n,
      paddr: 0n,
      size: 0x1800n,
    }]
  ) {
    const r = iommuMap(pt, o);
    assert.deepEqual(r.ret, { errno: "EINVAL" });
    assert.deepEqual(r.steps.map((s) => s.op), ["iotlb_sync"]);
  }
});

Deno.test("iommuMap() ends with iotlb_sync_map", () => {
  const { pt } = allocPt();
  const r = iommuMap(pt, { iova: 0n, paddr: 0n, size: SZ_1G });
  // A level-1 table under the root, then the 1G block in it.
  assert.deepEqual(r.steps.map((s) => s.op), ["table_alloc", "leaf_set", "iotlb_sync_map"]);
  assert.deepEqual(r.steps.at(-1), { op: "iotlb_sync_map", iova: 0n, size: SZ_1G });
});

Deno.test("iommuFlushIotlbAll() asks the driver for one flush_all", () => {
  assert.deepEqual(iommuFlushIotlbAll(), [{ op: "flush_all" }]);
});

// The scenario property: strict unmaps (iommu_unmap) and, when `fq` is set, DMA-API unmaps
// through a flush queue whose IOVA stays reserved until the queue is flushed.
function runScenario(fmt: PgtableFmt, fq: IovaFq | null, opsList: readonly PtOp[]): void {
  const { log, pt } = allocPt({ fmt });
  const live: Mapping[] = [];
  const reserved: Mapping[] = [];
  const spans = new Map<number, [bigint, bigint]>();
  for (const op of opsList) {
    let steps: PtStep[] = [];
    if (op.kind === "map") {
      const m = mapOpRange(op);
      if ([...live, ...reserved].some((r) => overlaps(r, m))) continue;
      const r = iommuMap(pt, { iova: m.iova, paddr: m.paddr, size: m.size });
      assert.deepEqual([r.ret, r.mapped], [0, m.size]);
      live.push(m);
      steps = r.steps;
    } else if (op.kind === "unmap") {
      if (live.length === 0) continue;
      const [m] = live.splice(op.pick % live.length, 1);
      const r = fq ? iommuDmaUnmap(pt, fq, m) : iommuUnmap(pt, m);
      assert.equal(r.unmapped, m.size);
      steps = r.steps;
      if (fq) reserved.push(m);
      else {assert.ok(
          covered(requestRanges(r.steps), m.iova, m.iova + m.size - 1n),
          "unmapped page not invalidated",
        );}
    } else {
      if (!fq) continue;
      steps = iovaFqFlush(pt, fq);
      if (reserved.length) assert.deepEqual(ptRequests(steps)[0], { op: "flush_all" });
      reserved.length = 0;
    }
    assertTablesFreedSafely(pt, steps, spans);
    for (const g of gathers(steps)) assert.equal(g.tableLevels === 0, g.freelistEmpty);
    assertLeavesMatch(pt, live);
    if (!fq) assertNoLeakedTables(pt);
    for (const m of live) {
      assert.equal(iommuIovaToPhys(pt, m.iova + m.size - 1n), m.paddr + m.size - 1n);
    }
  }
  assert.deepEqual(warns(log.events), []);
}

for (const fmt of ["ARM_64_LPAE_S1", "vtdss"] as const) {
  Deno.test(`iommuMap/Unmap() on ${fmt} translate exactly the live mappings and invalidate every unmapped page`, () => {
    fc.assert(
      fc.property(
        fc.array(arbPtOp, { minLength: 1, maxLength: 40, size: "medium" }),
        (opsList) => runScenario(fmt, null, opsList),
      ),
      PROPERTY_SETTINGS,
    );
  });

  Deno.test(`iommuDmaUnmap() on ${fmt} with a flush queue never frees a table before its walk flush`, () => {
    fc.assert(
      fc.property(
        fc.array(arbPtOp, { minLength: 1, maxLength: 40, size: "medium" }),
        fc.integer({ min: 1, max: 4 }),
        (opsList, size) => runScenario(fmt, iovaFqCreate({ size }), opsList),
      ),
      PROPERTY_SETTINGS,
    );
  });
}

Deno.test("iommuUnmap() on a structuredClone leaves the original table intact", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80201000n, size: SZ_2M });
  const copy = structuredClone(pt);
  iommuUnmap(copy, { iova: SZ_2M, size: SZ_2M });
  assert.equal(iommuIovaToPhys(copy, SZ_2M), 0n);
  assert.equal(iommuIovaToPhys(pt, SZ_2M), 0x80201000n);
  assert.notEqual(copy.tables.size, pt.tables.size);
});
