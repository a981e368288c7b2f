import assert from "node:assert/strict";
import fc from "fast-check";
import { U64_MAX } from "../../../lib/bits.ts";
import { atcInvToCmd } from "../../../lib/tlbi/atc.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";

// smmuv3.md §4: the smallest naturally aligned power-of-two block of 4K pages.
Deno.test("atcInvToCmd() matches every §4 example", async (t) => {
  const rows: [bigint, bigint, number, bigint][] = [
    [0x1000n, 0x1000n, 0, 0x1000n],
    [0x12345000n, 0x1000n, 0, 0x12345000n],
    [0x40000n, 0x2000n, 1, 0x40000n],
    [0x3000n, 0x2000n, 3, 0x0n],
    [0x7000n, 0x4000n, 4, 0x0n],
    [0x1ff000n, 0x2000n, 10, 0x0n],
    [0x200000n, 0x200000n, 9, 0x200000n],
    [0xfffn, 2n, 1, 0x0n],
    [0n, U64_MAX, 52, 0n],
    [0x5000n, 0n, 52, 0n],
  ];
  for (const [iova, size, wantSize, wantAddr] of rows) {
    await t.step(`iova 0x${iova.toString(16)} size 0x${size.toString(16)}`, () => {
      const c = atcInvToCmd({ sid: 0x10, ssid: 0, iova, size });
      assert.equal(c.size, wantSize);
      assert.equal(c.addr, wantAddr);
      assert.equal(c.sid, 0x10);
      assert.equal(c.ssv, false);
    });
  }
});

Deno.test("atcInvToCmd() sets SSV only for a PASID", () => {
  const c = atcInvToCmd({ sid: 0x20, ssid: 3, iova: 0x40000n, size: 0x2000n });
  assert.equal(c.ssv, true);
  assert.equal(c.ssid, 3);
});

Deno.test("atcInvToCmd() wraps like the kernel for a huge size at a non-zero iova", () => {
  // §4 caveat: iova + size - 1 wraps, so the span is computed on [1, 0] pages.
  const c = atcInvToCmd({ sid: 1, ssid: 0, iova: 0x1000n, size: U64_MAX });
  assert.equal(c.size, 1);
  assert.equal(c.addr, 0n);
});

Deno.test("atcInvToCmd() covers the range with one aligned block", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
      fc.bigInt({ min: 1n, max: 1n << 40n }),
      (iova, size) => {
        const c = atcInvToCmd({ sid: 1, ssid: 0, iova, size });
        const span = 1n << BigInt(c.size + 12);
        assert.equal(c.addr % span, 0n, "naturally aligned");
        assert.ok(c.addr <= iova && iova + size <= c.addr + span, "covers the range");
        if (c.size > 0) {
          // Minimal: the half-size block holding iova does not cover the range.
          const half = span / 2n;
          const lo = iova - (iova % half);
          assert.ok(iova + size > lo + half);
        }
      },
    ),
    PROPERTY_SETTINGS,
  );
});
