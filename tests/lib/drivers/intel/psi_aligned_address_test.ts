import assert from "node:assert/strict";
import fc from "fast-check";
import { fls, u64 } from "../../../../lib/bits.ts";
import {
  alignedNrpages,
  calculatePsiAlignedAddress,
} from "../../../../lib/drivers/intel/psi_aligned_address.ts";
import { PROPERTY_SETTINGS } from "../../../arbitraries.ts";

// vtd-sva-pkvm.md §B.1 worked examples: start, end (inclusive), raw pages, AM, addr.
const ROWS: readonly [bigint, bigint, bigint, number, bigint][] = [
  [0x1000n, 0x2fffn, 2n, 2, 0x0n],
  [0x3000n, 0x4fffn, 2n, 3, 0x0n],
  [0x2000n, 0x3fffn, 2n, 1, 0x2000n],
  [0x0n, 0xfffn, 1n, 0, 0x0n],
  [0x5000n, 0x5fffn, 1n, 0, 0x5000n],
  [0x1000n, 0x3fffn, 3n, 2, 0x0n],
  [0x7000n, 0x8fffn, 2n, 4, 0x0n],
  [0x1ff000n, 0x200fffn, 2n, 10, 0x0n],
  [0x10000n, 0x1ffffn, 16n, 4, 0x10000n],
  [0x7ffff000n, 0x80000fffn, 2n, 20, 0x0n],
  [0xffff888000000000n, 0xfffffffffffffffen, 0x778000000n, 35, 0xffff800000000000n],
  [0x0n, 0xffffffffffffefffn, (1n << 52n) - 1n, 52, 0x0n],
];

Deno.test("calculatePsiAlignedAddress() matches every §B.1 worked example", async (t) => {
  for (const [start, end, raw, mask, addr] of ROWS) {
    await t.step(`0x${start.toString(16)}-0x${end.toString(16)} -> AM ${mask}`, () => {
      assert.equal(alignedNrpages(start, u64(end - start + 1n)), raw);
      const r = calculatePsiAlignedAddress(start, end);
      assert.equal(r.mask, mask);
      assert.equal(r.addr, addr);
      assert.equal(r.pages, 1n << BigInt(mask));
    });
  }
});

Deno.test("alignedNrpages() counts pages touched, in-page offset included", () => {
  assert.equal(alignedNrpages(0x1800n, 0x1000n), 2n);
  assert.equal(alignedNrpages(0x1000n, 1n), 1n);
  assert.equal(alignedNrpages(0x1fffn, 2n), 2n);
});

// §B.1's equivalent formulation (the iommupt kunit VT-d model): AM = max(12, fls(start ^
// end)) - 12 and addr = start with the low AM+12 bits cleared. It holds whenever the
// kernel's page count does not wrap (see the next test).
Deno.test("calculatePsiAlignedAddress() gives the smallest aligned block: fls(start ^ end)", () => {
  const addr = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.bigInt({ min: 0n, max: 1n << 32n }),
  );
  fc.assert(
    fc.property(addr, addr, (a, b) => {
      const [start, end] = a <= b ? [a, b] : [b, a];
      fc.pre(alignedNrpages(start, u64(end - start + 1n)) !== 0n);
      const lg = Math.max(12, fls(start ^ end));
      const r = calculatePsiAlignedAddress(start, end);
      assert.equal(r.mask, lg - 12);
      assert.equal(r.addr, lg === 64 ? 0n : start & ~((1n << BigInt(lg)) - 1n));
    }),
    PROPERTY_SETTINGS,
  );
});

// A range reaching into the last page from the first one makes PAGE_ALIGN() wrap: the
// page count is 0 and __roundup_pow_of_two(0) shifts by 64, which x86 takes as 0. The
// kernel then flushes one page; its callers avoid this (the v6.17+ [0, ULONG_MAX] case
// is special-cased, and the nested and SVA callers never produce such an end).
Deno.test("calculatePsiAlignedAddress() wraps like the kernel when the page count overflows", () => {
  assert.equal(alignedNrpages(0n, 0xfffffffffffff001n), 0n);
  assert.deepEqual(calculatePsiAlignedAddress(0n, 0xfffffffffffff000n), {
    addr: 0n,
    mask: 0,
    pages: 1n,
  });
});
