import assert from "node:assert/strict";
import {
  cdDecode,
  CTXDESC_CD_0_S,
  CTXDESC_CD_0_TCR_EPD0,
  getCdUsed,
  makeS1Cd,
  makeSvaCd,
  SVA_CPU_DEFAULT,
  svaCpuPageSize,
} from "../../../../lib/drivers/arm-smmu-v3/cd.ts";
import { NUM_ENTRY_QWORDS } from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { KUNIT_S1 } from "./_kunit.ts";

const S1 = KUNIT_S1;

Deno.test("makeS1Cd() lays out the KUnit S1 CD", () => {
  const cd = makeS1Cd({ asid: 1997, s1: S1, stallEnabled: false });
  // q0: T0SZ 4 | TG0 2 | IRGN0 2 | ORGN0 1 | SH0 3 | EPD1 | V | IPS 1 | AA64 | R | A | ASET
  //     | ASID 1997 (0x7cd) at 63:48. q1: TTB0 bits 51:4. q3: MAIR.
  assert.deepEqual(cd, [
    0x07cde201c0003684n,
    0xdbeefdeadbee0n,
    0n,
    0xabcdef012345678n,
    0n,
    0n,
    0n,
    0n,
  ]);
  const dirty = makeS1Cd({ asid: 1, s1: { ...S1, hd: true }, stallEnabled: true });
  assert.equal((dirty[0] >> 42n) & 3n, 3n, "HD and HA");
  assert.equal(dirty[0] & CTXDESC_CD_0_S, CTXDESC_CD_0_S);
});

Deno.test("makeSvaCd() without an mm stays valid, sets EPD0 and drops stall", () => {
  const ctx = { asid: 5, cpu: SVA_CPU_DEFAULT, stallEnabled: true, stallForce: false };
  const live = makeSvaCd({ ...ctx, mm: { pgd: 0x4000_0000n } });
  const gone = makeSvaCd({ ...ctx, mm: null });
  assert.deepEqual(cdDecode(live), { valid: true, asid: 5, epd0: false, ttb0: 0x4000_0000n });
  assert.deepEqual(cdDecode(gone), { valid: true, asid: 5, epd0: true, ttb0: 0n });
  assert.equal(gone[0] & CTXDESC_CD_0_S, 0n);
  assert.equal(live[3], gone[3], "MAIR comes from the CPU either way");
  const forced = makeSvaCd({ ...ctx, mm: null, stallForce: true });
  assert.equal(forced[0] & CTXDESC_CD_0_S, CTXDESC_CD_0_S);
});

Deno.test("getCdUsed(): only V when invalid; all but the TTB0 walk fields under EPD0", () => {
  const used = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  getCdUsed(new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n), used);
  assert.equal(used[0], 1n << 31n);
  assert.ok(used.slice(1).every((q) => q === 0n));
  getCdUsed([CTXDESC_CD_0_TCR_EPD0 | (1n << 31n), 0n, 0n, 0n, 0n, 0n, 0n, 0n], used);
  assert.equal(used[0] & 0x7fffn, CTXDESC_CD_0_TCR_EPD0, "bits 13:0 ignored, EPD0 used");
  assert.equal(used[1], ~(((1n << 52n) - 1n) & ~0xfn) & ((1n << 64n) - 1n));
});

Deno.test("svaCpuPageSize() decodes TG0", () => {
  assert.deepEqual([0, 1, 2].map((tg) => svaCpuPageSize({ ...SVA_CPU_DEFAULT, tg })), [
    0x1000n,
    0x10000n,
    0x4000n,
  ]);
});
