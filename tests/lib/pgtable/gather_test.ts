import assert from "node:assert/strict";
import { U64_MAX } from "../../../lib/bits.ts";
import {
  iommuIotlbSync,
  iotlbGatherAddPage,
  iotlbGatherAddRange,
  iotlbGatherInit,
  iotlbGatherIsDisjoint,
  iotlbGatherQueued,
  iotlbGatherSnapshot,
  sizeToPtLevel,
} from "../../../lib/pgtable/gather.ts";
import { SZ_1G, SZ_2M, SZ_4K, tableAlloc } from "../../../lib/pgtable/pgtable.ts";
import { ptRequests } from "../../../lib/pgtable/steps.ts";
import { allocPt } from "./arbitraries.ts";

Deno.test("iotlbGatherInit() starts empty: start ULONG_MAX, end 0", () => {
  const g = iotlbGatherInit();
  assert.deepEqual(g, {
    start: U64_MAX,
    end: 0n,
    pgsize: 0n,
    freelist: [],
    queued: false,
    leafLevels: 0,
    tableLevels: 0,
  });
  assert.equal(iotlbGatherInit({ queued: true }).queued, true);
});

// iommu_iotlb_gather_is_disjoint(): gathered [0x40000, 0x41fff]; touching ranges merge.
Deno.test("iotlbGatherIsDisjoint() merges touching ranges and splits distant ones", async (t) => {
  const rows: readonly [string, bigint, bigint, boolean][] = [
    ["right after the end", 0x42000n, SZ_4K, false],
    ["right before the start", 0x3f000n, SZ_4K, false],
    ["overlapping", 0x41000n, 0x2000n, false],
    ["one page gap after", 0x43000n, SZ_4K, true],
    ["one page gap before", 0x3e000n, SZ_4K, true],
  ];
  const g = iotlbGatherInit();
  iotlbGatherAddRange(g, { iova: 0x40000n, size: 0x2000n });
  for (const [name, iova, size, want] of rows) {
    await t.step(name, () => assert.equal(iotlbGatherIsDisjoint(g, { iova, size }), want));
  }
  await t.step("an empty gather is never disjoint", () => {
    assert.equal(
      iotlbGatherIsDisjoint(iotlbGatherInit(), { iova: 0x1234000n, size: SZ_4K }),
      false,
    );
  });
});

Deno.test("iotlbGatherAddRange() keeps an inclusive end and wraps like the kernel", () => {
  const g = iotlbGatherInit();
  iotlbGatherAddRange(g, { iova: 0x40000n, size: SZ_4K });
  iotlbGatherAddRange(g, { iova: 0x10000n, size: SZ_4K });
  assert.equal(g.start, 0x10000n);
  assert.equal(g.end, 0x40fffn);
  // A zero-length range at 0 makes `end` = 0 - 1 = ULONG_MAX: everything.
  iotlbGatherAddRange(g, { iova: 0n, size: 0n });
  assert.equal(g.start, 0n);
  assert.equal(g.end, U64_MAX);
});

Deno.test("iotlbGatherAddPage() syncs before a disjoint page or another size", () => {
  const pt = allocPt().pt;
  const g = iotlbGatherInit();
  const steps = iotlbGatherAddPage(pt, g, { iova: 0x40000n, size: SZ_4K });
  iotlbGatherAddPage(pt, g, { iova: 0x41000n, size: SZ_4K, steps });
  assert.equal(steps.length, 0); // adjacent, same size: gathered
  iotlbGatherAddPage(pt, g, { iova: 0x80000n, size: SZ_4K, steps }); // disjoint
  iotlbGatherAddPage(pt, g, { iova: 0x200000n, size: SZ_2M, steps }); // other size
  const syncs = ptRequests(steps).map((r) => r.op === "iotlb_sync" ? r.gather : null);
  assert.deepEqual(syncs.map((s) => [s?.start, s?.end, s?.pgsize]), [
    [0x40000n, 0x41fffn, SZ_4K],
    [0x80000n, 0x80fffn, SZ_4K],
  ]);
  assert.deepEqual([g.start, g.end, g.pgsize, g.leafLevels], [0x200000n, 0x3fffffn, SZ_2M, 0b10]);
});

Deno.test("iommuIotlbSync() hands over a snapshot, frees the freelist, resets queued", () => {
  const pt = allocPt().pt;
  const t = tableAlloc(pt, 3, 0n);
  const g = iotlbGatherInit({ queued: true });
  iotlbGatherAddRange(g, { iova: 0n, size: SZ_2M });
  g.freelist.push(t.id);
  g.tableLevels = 0b10;
  const steps = iommuIotlbSync(pt, g);
  assert.equal(steps.length, 2);
  const [sync, free] = steps;
  assert.equal(sync.op, "iotlb_sync");
  if (sync.op === "iotlb_sync") {
    assert.equal(sync.gather.freelistEmpty, false);
    assert.deepEqual(sync.gather.freelist, [t.id]);
    assert.ok(Object.isFrozen(sync.gather));
  }
  assert.deepEqual(free, { op: "table_free", table: t.id, pa: t.pa, level: 3 });
  assert.equal(pt.tables.has(t.id), false);
  // iommu_iotlb_gather_init() is an assignment: `queued` is cleared too.
  assert.deepEqual(g, iotlbGatherInit());
});

Deno.test("iotlbGatherSnapshot() does not follow later changes", () => {
  const g = iotlbGatherInit();
  const snap = iotlbGatherSnapshot(g);
  g.freelist.push(7);
  assert.equal(snap.freelistEmpty, true);
  assert.deepEqual(snap.freelist, []);
});

Deno.test("iotlbGatherQueued() is false without a gather", () => {
  assert.equal(iotlbGatherQueued(null), false);
  assert.equal(iotlbGatherQueued(iotlbGatherInit({ queued: true })), true);
});

Deno.test("sizeToPtLevel() counts generic_pt levels from the smallest page", () => {
  const pt = allocPt().pt;
  assert.deepEqual([SZ_4K, SZ_2M, SZ_1G, 1n << 39n].map((s) => sizeToPtLevel(pt, s)), [0, 1, 2, 3]);
});
