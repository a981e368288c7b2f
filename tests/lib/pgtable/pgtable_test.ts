import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  armLpaeRestrictPgsizes,
  blockSize,
  entryIova,
  ioPgtableAlloc,
  type IoPgtableAllocOptions,
  lvlIdx,
  maxEntries,
  ptesInTable,
  ptLevel,
  SZ_16K,
  SZ_1G,
  SZ_2M,
  SZ_32M,
  SZ_4K,
  SZ_4T,
  SZ_512M,
  SZ_64K,
  tableGet,
} from "../../../lib/pgtable/pgtable.ts";

// Geometry by hand from arm_lpae_alloc_pgtable(): va_bits = ias - pg_shift, levels =
// ceil(va_bits / bits_per_level), start = 4 - levels, pgd_bits = what the lower levels leave;
// stage 2 adds one level of index bits to the PGD (start + 1) where arm_lpae_concat_mandatory()
// says so. VT-d rows: 4K tables, 9 bits a level.
const GEOMETRY: readonly {
  name: string;
  opts: IoPgtableAllocOptions;
  start: number;
  pgdBits: number;
  bitmap: bigint;
}[] = [
  {
    name: "S1 4K ias48",
    opts: { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G },
    start: 0,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "S1 4K ias32",
    opts: { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ias: 32, oas: 32 },
    start: 1,
    pgdBits: 2,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "S1 4K ias39",
    opts: { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ias: 39, oas: 40 },
    start: 1,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "S1 16K ias48 (2-entry PGD)",
    opts: { pgsizeBitmap: SZ_16K | SZ_32M, pageSize: SZ_16K },
    start: 0,
    pgdBits: 1,
    bitmap: SZ_16K | SZ_32M,
  },
  {
    name: "S2 16K ias48 oas48: concatenated (R_DXBSH)",
    opts: { fmt: "ARM_64_LPAE_S2", pgsizeBitmap: SZ_16K | SZ_32M, pageSize: SZ_16K },
    start: 1,
    pgdBits: 12,
    bitmap: SZ_16K | SZ_32M,
  },
  {
    name: "S2 4K ias40 oas40: concatenated (2 pages)",
    opts: { fmt: "ARM_64_LPAE_S2", pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ias: 40, oas: 40 },
    start: 1,
    pgdBits: 10,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "S2 16K ias40 oas40: concatenated (16 pages)",
    opts: {
      fmt: "ARM_64_LPAE_S2",
      pgsizeBitmap: SZ_16K | SZ_32M,
      pageSize: SZ_16K,
      ias: 40,
      oas: 40,
    },
    start: 2,
    pgdBits: 15,
    bitmap: SZ_16K | SZ_32M,
  },
  {
    name: "S1 4K ias40 oas40: stage 1 never concatenates",
    opts: { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ias: 40, oas: 40 },
    start: 0,
    pgdBits: 1,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "S1 64K ias48",
    opts: { pgsizeBitmap: SZ_64K | SZ_512M, pageSize: SZ_64K },
    start: 1,
    pgdBits: 6,
    bitmap: SZ_64K | SZ_512M,
  },
  {
    name: "S1 64K ias52 oas52: 4T blocks",
    opts: { pgsizeBitmap: SZ_64K | SZ_512M | SZ_4T, pageSize: SZ_64K, ias: 52, oas: 52 },
    start: 1,
    pgdBits: 10,
    bitmap: SZ_64K | SZ_512M | SZ_4T,
  },
  {
    name: "S1 driver offers 4K|64K|2M|512M|1G on a 4K kernel",
    opts: { pgsizeBitmap: SZ_4K | SZ_64K | SZ_2M | SZ_512M | SZ_1G },
    start: 0,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "vtdss 4-level",
    opts: { fmt: "vtdss", pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G },
    start: 0,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "vtdss 5-level",
    opts: { fmt: "vtdss", pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ias: 57, oas: 52 },
    start: -1,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M | SZ_1G,
  },
  {
    name: "x86_64 3-level without 1G",
    opts: { fmt: "x86_64", pgsizeBitmap: SZ_4K | SZ_2M, ias: 39 },
    start: 1,
    pgdBits: 9,
    bitmap: SZ_4K | SZ_2M,
  },
];

Deno.test("ioPgtableAlloc() derives the kernel's geometry", async (t) => {
  for (const row of GEOMETRY) {
    await t.step(row.name, () => {
      const pt = ioPgtableAlloc(eventLogCreate(), row.opts);
      assert.equal(pt.startLevel, row.start);
      assert.equal(pt.pgdBits, row.pgdBits);
      assert.equal(pt.pgsizeBitmap, row.bitmap);
      const root = tableGet(pt, pt.root);
      assert.equal(root.level, row.start);
      assert.equal(ptesInTable(pt, root.level), 2 ** row.pgdBits);
    });
  }
});

Deno.test("ioPgtableAlloc() picks io-pgtable-arm for ARM formats and iommupt for VT-d", () => {
  const log = eventLogCreate();
  assert.equal(ioPgtableAlloc(log, { pgsizeBitmap: SZ_4K }).impl, "io-pgtable-arm");
  assert.equal(
    ioPgtableAlloc(log, { fmt: "ARM_64_LPAE_S2", pgsizeBitmap: SZ_4K }).impl,
    "io-pgtable-arm",
  );
  assert.equal(ioPgtableAlloc(log, { fmt: "vtdss", pgsizeBitmap: SZ_4K }).impl, "iommupt");
  assert.equal(ioPgtableAlloc(log, { fmt: "x86_64", pgsizeBitmap: SZ_4K }).impl, "iommupt");
});

Deno.test("ioPgtableAlloc() refuses what the kernel refuses", () => {
  const log = eventLogCreate();
  assert.throws(() => ioPgtableAlloc(log, { pgsizeBitmap: SZ_2M | SZ_1G }), RangeError);
  assert.throws(() => ioPgtableAlloc(log, { pgsizeBitmap: SZ_4K, oas: 38 }), /IPS/);
  assert.throws(
    () => ioPgtableAlloc(log, { fmt: "vtdss", pgsizeBitmap: SZ_4K, ias: 58 }),
    RangeError,
  );
});

// arm_lpae_restrict_pgsizes(): granule choice and the 48/52-bit caps.
Deno.test("armLpaeRestrictPgsizes() keeps one granule's sizes", async (t) => {
  const rows: readonly [string, bigint, bigint, number, bigint, number, number][] = [
    // name, offered, PAGE_SIZE, oas in, want bitmap, want ias, want oas
    [
      "4K kernel, everything offered",
      SZ_4K | SZ_16K | SZ_64K | SZ_2M | SZ_32M | SZ_512M | SZ_1G,
      SZ_4K,
      48,
      SZ_4K | SZ_2M | SZ_1G,
      48,
      48,
    ],
    ["16K kernel picks 16K", SZ_4K | SZ_16K | SZ_2M | SZ_32M, SZ_16K, 48, SZ_16K | SZ_32M, 48, 48],
    [
      "64K kernel without 64K: largest smaller granule",
      SZ_4K | SZ_16K | SZ_2M,
      SZ_64K,
      48,
      SZ_16K,
      48,
      48,
    ],
    [
      "4K kernel with only 16K/64K: smallest larger granule",
      SZ_16K | SZ_64K | SZ_512M,
      SZ_4K,
      48,
      SZ_16K,
      48,
      48,
    ],
    [
      "64K and 52-bit output keeps 4T",
      SZ_64K | SZ_512M | SZ_4T,
      SZ_64K,
      52,
      SZ_64K | SZ_512M | SZ_4T,
      52,
      52,
    ],
    [
      "64K and 48-bit output drops 4T",
      SZ_64K | SZ_512M | SZ_4T,
      SZ_64K,
      48,
      SZ_64K | SZ_512M,
      52,
      48,
    ],
    ["4K caps addresses at 48 bits", SZ_4K, SZ_4K, 52, SZ_4K, 48, 48],
  ];
  for (const [name, offered, page, oas, bitmap, ias, wantOas] of rows) {
    await t.step(name, () => {
      const r = armLpaeRestrictPgsizes(offered, { pageSize: page, ias: 52, oas });
      assert.deepEqual(r, { pgsizeBitmap: bitmap, ias, oas: wantOas });
    });
  }
});

Deno.test("lvlIdx() / blockSize() / entryIova() index a 4-level 4K table", () => {
  const pt = ioPgtableAlloc(eventLogCreate(), { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G });
  const iova = 0x0000_7f12_3456_7000n;
  // By hand: bits 47:39, 38:30, 29:21, 20:12.
  assert.deepEqual([0, 1, 2, 3].map((l) => lvlIdx(pt, iova, l)), [0xfe, 0x48, 0x1a2, 0x167]);
  assert.deepEqual([0, 1, 2, 3].map((l) => blockSize(pt, l)), [1n << 39n, SZ_1G, SZ_2M, SZ_4K]);
  assert.equal(entryIova(pt, tableGet(pt, pt.root), 0xfe), 0xfen << 39n);
  assert.deepEqual([0, 1, 2, 3].map(ptLevel), [3, 2, 1, 0]);
});

Deno.test("maxEntries() stops at the end of a concatenated PGD page", () => {
  const pt = ioPgtableAlloc(eventLogCreate(), {
    fmt: "ARM_64_LPAE_S2",
    pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G,
    ias: 40,
    oas: 40,
  });
  const root = tableGet(pt, pt.root);
  assert.equal(maxEntries(pt, root, 510), 2); // first page: 510, 511
  assert.equal(maxEntries(pt, root, 512), 512); // second page
  assert.equal(maxEntries(pt, root, 1023), 1);
});

Deno.test("an IoPgtable survives structuredClone", () => {
  const pt = ioPgtableAlloc(eventLogCreate(), { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G });
  const copy = structuredClone(pt);
  assert.deepEqual(copy, pt);
  copy.nextTableId++;
  assert.notEqual(copy.nextTableId, pt.nextTableId);
});
