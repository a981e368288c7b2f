import assert from "node:assert/strict";
import {
  getSteUpdateSafe,
  getSteUsed,
  makeAbortSte,
  makeBypassSte,
  makeCdtableSte,
  makeNestedDomainSte,
  makeS2DomainSte,
  NUM_ENTRY_QWORDS,
  steDecode,
  STRTAB_STE_1_EATS,
  STRTAB_STE_1_MEV,
  STRTAB_STE_1_S1DSS_SSID0,
  STRTAB_STE_1_SHCFG,
  STRTAB_STE_2_S2S,
} from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { KUNIT_S2, kunitCdTable, kunitCtx } from "./_kunit.ts";

const CTX = kunitCtx();
const CD_TABLE = kunitCdTable();
const S2 = KUNIT_S2;
const pad = (q: bigint[]) => [...q, ...new Array(NUM_ENTRY_QWORDS - q.length).fill(0n)];

Deno.test("makeAbortSte() and makeBypassSte() set V, CFG and (with ATTR_TYPES_OVR) SHCFG", () => {
  assert.deepEqual(makeAbortSte(), pad([0x1n]));
  // CFG=4 (bypass) in bits 3:1; SHCFG=INCOMING (1) in bits 45:44.
  assert.deepEqual(makeBypassSte(CTX), pad([0x9n, 1n << 44n]));
  assert.deepEqual(makeBypassSte({ attrTypesOvr: false }), pad([0x9n]));
});

Deno.test("makeCdtableSte() lays out the KUnit CD-table STE", () => {
  const ste = makeCdtableSte({ ...CTX, cdTable: CD_TABLE }, {
    atsEnabled: true,
    s1dss: STRTAB_STE_1_S1DSS_SSID0,
  });
  // q0: V | CFG 5 | S1FMT 2 | S1CTXPTR (51:6 of 0xF0F0F0F0F0F0) | S1CDMAX 0xFF as 5 bits.
  // q1: S1DSS 2 | S1CIR/S1COR WBRA | S1CSH ISH | S1STALLD (stalls, master not stalling)
  //     | EATS TRANS; STRW NSEL1 and S2VMID 0.
  assert.deepEqual(ste, pad([0xf800f0f0f0f0f0ebn, 0x180000d6n]));
  const e2h = makeCdtableSte({ ...CTX, e2h: true, cdTable: CD_TABLE }, {
    atsEnabled: false,
    s1dss: 0,
  });
  assert.equal((e2h[1] >> 30n) & 3n, 2n, "STRW EL2 under E2H");
});

Deno.test("makeS2DomainSte() lays out the KUnit S2 STE", () => {
  const ste = makeS2DomainSte({ ...CTX, vmid: 0, s2: S2 }, { atsEnabled: true });
  // q1: EATS TRANS | SHCFG INCOMING. q2: VTCR (tsz 4, sl 3, irgn 2, orgn 1, sh 3, tg 2, ps 1)
  // at 50:32 | S2AA64 | S2PTW | S2R. q3: VTTBR bits 51:4.
  assert.deepEqual(ste, pad([0xdn, 0x0000100010000000n, 0x0449b6c400000000n, 0xdbeefdeadbee0n]));
  const stall = makeS2DomainSte(
    { ...CTX, stallEnabled: true, vmid: 9, s2: { ...S2, s2fwb: true } },
    {
      atsEnabled: false,
    },
  );
  assert.equal(stall[2] & STRTAB_STE_2_S2S, STRTAB_STE_2_S2S);
  assert.equal(stall[2] & 0xffffn, 9n);
  assert.equal((stall[1] >> 25n) & 1n, 1n, "S2FWB");
});

Deno.test("makeNestedDomainSte() follows the vSTE: CD table, bypass, or abort", () => {
  const ctx = { ...CTX, vmid: 3, s2: S2 };
  const vS1: [bigint, bigint] = [0x1n | (5n << 1n) | 0x4000n, 0x2n];
  const nested = makeNestedDomainSte(ctx, { vste: vS1, atsEnabled: true });
  assert.equal(steDecode(nested).config, "nested");
  assert.equal(nested[0] & 0x4000n, 0x4000n, "guest CD table pointer");
  assert.equal(nested[1] & STRTAB_STE_1_MEV, STRTAB_STE_1_MEV);
  assert.equal(steDecode(nested).vmid, 3);
  const bypass = makeNestedDomainSte(ctx, { vste: [0x1n | (4n << 1n), 0n], atsEnabled: false });
  assert.deepEqual(bypass, makeS2DomainSte(ctx, { atsEnabled: false }));
  assert.deepEqual(makeNestedDomainSte(ctx, { vste: [0n, 0n], atsEnabled: false }), makeAbortSte());
});

Deno.test("getSteUsed() reads only V when invalid, S1 and S2 fields by CFG, SHCFG for bypass", () => {
  const used = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  getSteUsed(pad([0n]), used);
  assert.deepEqual(used, pad([1n]));
  getSteUsed(makeBypassSte(CTX), used);
  assert.deepEqual(used, pad([0xfn, STRTAB_STE_1_SHCFG]));
  getSteUsed(makeS2DomainSte({ ...CTX, vmid: 0, s2: S2 }, { atsEnabled: true }), used);
  assert.equal(used[3], ((1n << 52n) - 1n) & ~0xfn);
  assert.equal(used[1] & STRTAB_STE_1_EATS, STRTAB_STE_1_EATS);
});

Deno.test("getSteUpdateSafe() allows EATS=TRANS without S1CHK/S2S, MEV always", () => {
  assert.deepEqual(
    getSteUpdateSafe(pad([0n]), pad([0n])),
    pad([0n, (1n << 28n) | STRTAB_STE_1_MEV]),
  );
  const s2s = pad([0n, 0n, STRTAB_STE_2_S2S]);
  assert.deepEqual(getSteUpdateSafe(s2s, pad([0n])), pad([0n, STRTAB_STE_1_MEV]));
});

Deno.test("steDecode() names the configuration and reads the tags", () => {
  assert.equal(steDecode(pad([0n])).config, "invalid");
  assert.equal(steDecode(makeAbortSte()).config, "abort");
  const s2 = steDecode(makeS2DomainSte({ ...CTX, vmid: 42, s2: S2 }, { atsEnabled: true }));
  assert.deepEqual([s2.config, s2.vmid, s2.eats, s2.s2ttb], ["s2", 42, 1, 0xdbeefdeadbee0n]);
});
