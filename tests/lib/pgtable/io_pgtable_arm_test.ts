import assert from "node:assert/strict";
import { ilog2 } from "../../../lib/bits.ts";
import { iotlbGatherInit } from "../../../lib/pgtable/gather.ts";
import { armLpaeMapPages, armLpaeUnmapPages } from "../../../lib/pgtable/io_pgtable_arm.ts";
import {
  IOMMU_READ,
  IOMMU_WRITE,
  type PgtableFmt,
  SZ_16K,
  SZ_1G,
  SZ_2M,
  SZ_32M,
  SZ_4K,
  SZ_512M,
  SZ_64K,
} from "../../../lib/pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../../../lib/pgtable/steps.ts";
import { ioPgtableIovaToPhys, ioPgtableLeaves } from "../../../lib/pgtable/walk.ts";
import { allocPt, warns } from "./arbitraries.ts";

const SZ_2G = 0x80000000n;
const RW = IOMMU_READ | IOMMU_WRITE;

function ops(steps: readonly PtStep[]): string[] {
  return steps.map((s) => s.op);
}

function bits(bitmap: bigint): bigint[] {
  const out: bigint[] = [];
  for (let b = 0n; b < 64n; b++) if ((bitmap >> b) & 1n) out.push(1n << b);
  return out;
}

// Ported from arm_lpae_run_tests() / arm_lpae_do_selftests() (io-pgtable-arm-selftests.c,
// mainline): every granule, every ias <= oas in {32..48}, stage 1 and stage 2, with
// IO_PGTABLE_QUIRK_NO_WARN and a gather-less unmap. The dummy flush callbacks check that
// every flushed size is one of the page sizes.
const SELFTEST_PGSIZES: readonly [bigint, bigint][] = [
  [SZ_4K | SZ_2M | SZ_1G, SZ_4K],
  [SZ_16K | SZ_32M, SZ_16K],
  [SZ_64K | SZ_512M, SZ_64K],
];
const SELFTEST_ADDRESS_SIZES = [32, 36, 40, 42, 44, 48] as const;

function runSelftest(fmt: PgtableFmt, bitmap: bigint, page: bigint, ias: number, oas: number) {
  const { log, pt } = allocPt({
    fmt,
    pgsizeBitmap: bitmap,
    pageSize: page,
    ias,
    oas,
    noWarn: true,
  });
  for (const iova of [42n, SZ_1G + 42n, SZ_2G + 42n]) {
    assert.equal(ioPgtableIovaToPhys(pt, iova), 0n);
  }
  const steps: PtStep[] = [];
  let iova = 0n;
  for (const size of bits(pt.pgsizeBitmap)) {
    const one = { pgsize: size, pgcount: 1n, steps };
    assert.equal(armLpaeMapPages(pt, { iova, paddr: iova, prot: RW, ...one }).ret, 0);
    // Overlapping mappings fail.
    assert.notEqual(
      armLpaeMapPages(pt, { iova, paddr: iova + size, prot: IOMMU_READ, ...one }).ret,
      0,
    );
    assert.equal(ioPgtableIovaToPhys(pt, iova + 42n), iova + 42n);
    iova += SZ_1G;
  }
  iova = 0n;
  for (const size of bits(pt.pgsizeBitmap)) {
    assert.equal(
      armLpaeUnmapPages(pt, null, { iova, pgsize: size, pgcount: 1n, steps }).unmapped,
      size,
    );
    assert.equal(ioPgtableIovaToPhys(pt, iova + 42n), 0n);
    const r = armLpaeMapPages(pt, {
      iova,
      paddr: iova,
      pgsize: size,
      pgcount: 1n,
      prot: IOMMU_WRITE,
      steps,
    });
    assert.equal(r.ret, 0);
    assert.equal(ioPgtableIovaToPhys(pt, iova + 42n), iova + 42n);
    iova += SZ_1G;
  }
  // The last largest page of the input range: a corner case of concatenated PGDs.
  const size = 1n << BigInt(ilog2(pt.pgsizeBitmap));
  const top = (1n << BigInt(pt.ias)) - size;
  const r = armLpaeMapPages(pt, {
    iova: top,
    paddr: top,
    pgsize: size,
    pgcount: 1n,
    prot: RW,
    steps,
  });
  assert.equal(r.ret, 0);
  assert.equal(r.mapped, size);
  assert.equal(
    armLpaeUnmapPages(pt, null, { iova: top, pgsize: size, pgcount: 1n, steps }).unmapped,
    size,
  );
  for (const s of steps) if (s.op === "flush_walk") assert.notEqual(s.size & pt.pgsizeBitmap, 0n);
  assert.deepEqual(warns(log.events), []);
}

Deno.test("armLpaeMapPages/UnmapPages() pass the kernel's io-pgtable-arm selftest", async (t) => {
  for (const [bitmap, page] of SELFTEST_PGSIZES) {
    for (const [j, oas] of SELFTEST_ADDRESS_SIZES.entries()) {
      for (const ias of SELFTEST_ADDRESS_SIZES.slice(0, j + 1)) {
        await t.step(`pgsize_bitmap 0x${bitmap.toString(16)} ias ${ias} oas ${oas}`, () => {
          runSelftest("ARM_64_LPAE_S1", bitmap, page, ias, oas);
          runSelftest("ARM_64_LPAE_S2", bitmap, page, ias, oas);
        });
      }
    }
  }
});

Deno.test("armLpaeMapPages() maps no further than the end of the table page", () => {
  const { pt } = allocPt();
  const r = armLpaeMapPages(pt, { iova: 0x1fe000n, paddr: 0x1fe000n, pgsize: SZ_4K, pgcount: 4n });
  assert.deepEqual([r.ret, r.mapped], [0, 0x2000n]);
  // Three tables created on the way (levels 1, 2, 3), then two leaves.
  assert.deepEqual(ops(r.steps), [
    "table_alloc",
    "table_alloc",
    "table_alloc",
    "leaf_set",
    "leaf_set",
  ]);
});

Deno.test("armLpaeMapPages() refuses to overwrite a leaf with -EEXIST and a WARN", () => {
  const { log, pt } = allocPt();
  armLpaeMapPages(pt, { iova: SZ_2M, paddr: SZ_2M, pgsize: SZ_2M, pgcount: 1n });
  // Inside the 2M block: the walk meets the block on its way down.
  const inside = armLpaeMapPages(pt, {
    iova: SZ_2M + SZ_4K,
    paddr: 0n,
    pgsize: SZ_4K,
    pgcount: 1n,
  });
  // The block itself, and a run that starts before it (checked before anything is written).
  const same = armLpaeMapPages(pt, { iova: SZ_2M, paddr: 0n, pgsize: SZ_2M, pgcount: 1n });
  const run = armLpaeMapPages(pt, { iova: 0n, paddr: 0n, pgsize: SZ_2M, pgcount: 2n });
  assert.deepEqual([inside.ret, same.ret, run.ret], [
    { errno: "EEXIST" },
    { errno: "EEXIST" },
    { errno: "EEXIST" },
  ]);
  assert.deepEqual(ops(run.steps), []);
  assert.deepEqual(warns(log.events), [
    "__arm_lpae_map: We require an unmap first",
    "arm_lpae_init_pte: We require an unmap first",
    "arm_lpae_init_pte: We require an unmap first",
  ]);
});

Deno.test("armLpaeMapPages() -ERANGE with a WARN beyond ias or oas", () => {
  const { log, pt } = allocPt({ ias: 40, oas: 40 });
  const a = armLpaeMapPages(pt, { iova: 1n << 40n, paddr: 0n, pgsize: SZ_4K, pgcount: 1n });
  const b = armLpaeMapPages(pt, { iova: 0n, paddr: 1n << 40n, pgsize: SZ_4K, pgcount: 1n });
  const c = armLpaeMapPages(pt, { iova: 0n, paddr: 0n, pgsize: SZ_4K, pgcount: 1n, prot: 0 });
  assert.deepEqual([a.ret, b.ret, c.ret], [{ errno: "ERANGE" }, { errno: "ERANGE" }, {
    errno: "EINVAL",
  }]);
  assert.equal(warns(log.events).length, 2);
});

Deno.test("armLpaeMapPages() replaces a table by a block after flushing its walk", () => {
  const { log, pt } = allocPt();
  armLpaeMapPages(pt, { iova: SZ_2M + SZ_4K, paddr: 0x1000n, pgsize: SZ_4K, pgcount: 1n });
  // The 4K leaf is still there: io-pgtable-arm frees the table with it, no questions asked.
  const r = armLpaeMapPages(pt, { iova: SZ_2M, paddr: 0x40000000n, pgsize: SZ_2M, pgcount: 1n });
  assert.equal(r.ret, 0);
  assert.deepEqual(ops(r.steps), ["table_clear", "flush_walk", "table_free", "leaf_set"]);
  assert.deepEqual(r.steps[1], { op: "flush_walk", iova: SZ_2M, size: SZ_2M, granule: SZ_4K });
  assert.deepEqual(ioPgtableLeaves(pt).map((l) => [l.iova, l.size]), [[SZ_2M, SZ_2M]]);
  assert.deepEqual(warns(log.events), []);
});

Deno.test("armLpaeUnmapPages() frees a table at once: clear, flush_walk, free, then gather", () => {
  const { pt } = allocPt();
  // 4K pages at 2M..2M+8K, a 2M block at 4M: two entries of the level-2 table.
  armLpaeMapPages(pt, { iova: SZ_2M, paddr: 0x1000n, pgsize: SZ_4K, pgcount: 2n });
  armLpaeMapPages(pt, { iova: 2n * SZ_2M, paddr: 2n * SZ_2M, pgsize: SZ_2M, pgcount: 1n });
  const g = iotlbGatherInit();
  const r = armLpaeUnmapPages(pt, g, { iova: SZ_2M, pgsize: SZ_2M, pgcount: 2n });
  assert.equal(r.unmapped, 2n * SZ_2M);
  // The table entry first (with its flush and free), the block after the loop; both pages
  // then go to the gather, which merges them: no sync yet.
  assert.deepEqual(ops(r.steps), ["table_clear", "flush_walk", "table_free", "leaf_clear"]);
  assert.deepEqual([g.start, g.end, g.pgsize], [SZ_2M, 3n * SZ_2M - 1n, SZ_2M]);
});

Deno.test("armLpaeUnmapPages() frees a subtree children first", () => {
  const { pt } = allocPt();
  armLpaeMapPages(pt, { iova: SZ_1G, paddr: 0x1000n, pgsize: SZ_4K, pgcount: 1n });
  armLpaeMapPages(pt, { iova: SZ_1G + 4n * SZ_2M, paddr: 0x1000n, pgsize: SZ_4K, pgcount: 1n });
  const r = armLpaeUnmapPages(pt, null, { iova: SZ_1G, pgsize: SZ_1G, pgcount: 1n });
  // The whole 1G is reported unmapped although two pages were mapped.
  assert.equal(r.unmapped, SZ_1G);
  const frees = r.steps.flatMap((s) => s.op === "table_free" ? [s.level] : []);
  assert.deepEqual(frees, [3, 3, 2]);
  assert.deepEqual(ptRequests(r.steps), [{
    op: "flush_walk",
    iova: SZ_1G,
    size: SZ_1G,
    granule: SZ_4K,
  }]);
});

Deno.test("armLpaeUnmapPages() with a queued gather still flushes walks, adds no pages", () => {
  const { pt } = allocPt();
  armLpaeMapPages(pt, { iova: 0n, paddr: 0x1000n, pgsize: SZ_4K, pgcount: 512n });
  armLpaeMapPages(pt, { iova: SZ_2M, paddr: SZ_2M, pgsize: SZ_2M, pgcount: 1n });
  const g = iotlbGatherInit({ queued: true });
  const r = armLpaeUnmapPages(pt, g, { iova: 0n, pgsize: SZ_2M, pgcount: 2n });
  assert.equal(r.unmapped, 2n * SZ_2M);
  assert.deepEqual(ptRequests(r.steps), [{
    op: "flush_walk",
    iova: 0n,
    size: SZ_2M,
    granule: SZ_4K,
  }]);
  assert.deepEqual(g, iotlbGatherInit({ queued: true }));
});

Deno.test("armLpaeUnmapPages() WARNs once on a partial block and unmaps nothing", () => {
  const { log, pt } = allocPt();
  armLpaeMapPages(pt, { iova: SZ_2M, paddr: SZ_2M, pgsize: SZ_2M, pgcount: 1n });
  const g = iotlbGatherInit();
  const a = armLpaeUnmapPages(pt, g, { iova: SZ_2M, pgsize: SZ_4K, pgcount: 1n });
  const b = armLpaeUnmapPages(pt, g, { iova: SZ_2M + SZ_4K, pgsize: SZ_4K, pgcount: 1n });
  assert.deepEqual([a.unmapped, b.unmapped], [0n, 0n]);
  assert.deepEqual(warns(log.events), [
    "__arm_lpae_unmap: Unmap of a partial large IOPTE is not allowed",
  ]);
  assert.equal(ioPgtableIovaToPhys(pt, SZ_2M + SZ_4K), SZ_2M + SZ_4K);
});

Deno.test("armLpaeUnmapPages() WARNs on a hole and stops there", () => {
  const { log, pt } = allocPt();
  armLpaeMapPages(pt, { iova: 0n, paddr: 0n, pgsize: SZ_4K, pgcount: 1n });
  armLpaeMapPages(pt, { iova: 0x2000n, paddr: 0x2000n, pgsize: SZ_4K, pgcount: 1n });
  const r = armLpaeUnmapPages(pt, null, { iova: 0n, pgsize: SZ_4K, pgcount: 3n });
  assert.equal(r.unmapped, SZ_4K);
  assert.deepEqual(warns(log.events), ["__arm_lpae_unmap: WARN_ON(!pte)"]);
  const quiet = allocPt({ noWarn: true });
  armLpaeUnmapPages(quiet.pt, null, { iova: 0n, pgsize: SZ_4K, pgcount: 1n });
  assert.deepEqual(warns(quiet.log.events), []);
});

Deno.test("armLpaeUnmapPages() WARNs on a size the table does not use", () => {
  const { log, pt } = allocPt();
  assert.equal(
    armLpaeUnmapPages(pt, null, { iova: 0n, pgsize: 0x8000n, pgcount: 1n }).unmapped,
    0n,
  );
  assert.equal(
    armLpaeUnmapPages(pt, null, { iova: 1n << 48n, pgsize: SZ_4K, pgcount: 1n }).unmapped,
    0n,
  );
  assert.equal(warns(log.events).length, 2);
});
