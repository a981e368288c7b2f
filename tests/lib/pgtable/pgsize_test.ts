import assert from "node:assert/strict";
import fc from "fast-check";
import { iommuPgsize } from "../../../lib/pgtable/pgsize.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";
import {
  SZ_16K,
  SZ_1G,
  SZ_2M,
  SZ_32M,
  SZ_4K,
  SZ_512M,
  SZ_64K,
} from "../../../lib/pgtable/pgtable.ts";

const BM4K = SZ_4K | SZ_2M | SZ_1G;

// Every row computed by hand from iommu_pgsize(): sizes ≤ the top bit of size and ≤ the lowest
// set bit of iova|paddr, the biggest wins; the count stops where the next larger size could
// start, if iova and paddr share their offset in it and a whole larger page still fits.
const ROWS: readonly {
  name: string;
  bitmap: bigint;
  iova: bigint;
  paddr: bigint;
  size: bigint;
  pgsize: bigint;
  count: bigint;
}[] = [
  {
    name: "8K of 4K pages: a 2M page cannot fit",
    bitmap: BM4K,
    iova: 0x40000n,
    paddr: 0x40000n,
    size: 0x2000n,
    pgsize: SZ_4K,
    count: 2n,
  },
  {
    name: "aligned 2M: one block",
    bitmap: BM4K,
    iova: 0n,
    paddr: 0n,
    size: SZ_2M,
    pgsize: SZ_2M,
    count: 1n,
  },
  {
    name: "4K before a 2M boundary, then a 2M page fits: stop after one",
    bitmap: BM4K,
    iova: 0x1ff000n,
    paddr: 0x1ff000n,
    size: 0x201000n,
    pgsize: SZ_4K,
    count: 1n,
  },
  {
    name: "2M-aligned pair, 1G could never fit in 4M",
    bitmap: BM4K,
    iova: SZ_2M,
    paddr: 0x40200000n,
    size: 0x400000n,
    pgsize: SZ_2M,
    count: 2n,
  },
  {
    name: "iova and paddr at different 2M offsets: 4K all the way",
    bitmap: BM4K,
    iova: 0x1000n,
    paddr: 0x3000n,
    size: 0x400000n,
    pgsize: SZ_4K,
    count: 1024n,
  },
  {
    name: "1M up to the 2M boundary, then 2M fits exactly",
    bitmap: BM4K,
    iova: 0x100000n,
    paddr: 0x100000n,
    size: 0x300000n,
    pgsize: SZ_4K,
    count: 256n,
  },
  {
    name: "two 1G blocks (no bigger size)",
    bitmap: BM4K,
    iova: SZ_1G,
    paddr: 0x80000000n,
    size: 0x80000000n,
    pgsize: SZ_1G,
    count: 2n,
  },
  {
    name: "16K granule: one 16K page before a 32M boundary",
    bitmap: SZ_16K | SZ_32M,
    iova: 0x1ffc000n,
    paddr: 0x1ffc000n,
    size: 0x2004000n,
    pgsize: SZ_16K,
    count: 1n,
  },
  {
    name: "64K granule: two 512M blocks",
    bitmap: SZ_64K | SZ_512M,
    iova: 0n,
    paddr: SZ_512M,
    size: SZ_1G,
    pgsize: SZ_512M,
    count: 2n,
  },
  { name: "12K at 0", bitmap: BM4K, iova: 0n, paddr: 0n, size: 0x3000n, pgsize: SZ_4K, count: 3n },
];

Deno.test("iommuPgsize() picks the kernel's page size and count", async (t) => {
  for (const r of ROWS) {
    await t.step(r.name, () => {
      const got = iommuPgsize(r.bitmap, { iova: r.iova, paddr: r.paddr, size: r.size });
      assert.deepEqual(got, { pgsize: r.pgsize, count: r.count });
    });
  }
});

Deno.test("iommuPgsize() throws where the kernel would BUG", () => {
  assert.throws(() => iommuPgsize(BM4K, { iova: 0x800n, paddr: 0n, size: SZ_4K }), RangeError);
  assert.throws(() => iommuPgsize(BM4K, { iova: 0n, paddr: 0n, size: 0x800n }), RangeError);
});

Deno.test("iommuPgsize() runs tile any aligned range with aligned pages", () => {
  const page = fc.bigInt({ min: 0n, max: 0x3ffffn }).map((p) => p << 12n);
  fc.assert(
    fc.property(page, page, fc.bigInt({ min: 1n, max: 0x3ffffn }), (iova, paddr, pages) => {
      const size = pages << 12n;
      let done = 0n;
      let runs = 0;
      while (done < size) {
        const at = { iova: iova + done, paddr: paddr + done };
        const { pgsize, count } = iommuPgsize(BM4K, { ...at, size: size - done });
        assert.ok(count >= 1n);
        assert.equal(at.iova % pgsize, 0n);
        assert.equal(at.paddr % pgsize, 0n);
        done += pgsize * count;
        runs++;
      }
      assert.equal(done, size);
      assert.ok(runs <= 5, `${runs} runs`); // up, across the 1G blocks, down: at most 5
    }),
    PROPERTY_SETTINGS,
  );
});
