import assert from "node:assert/strict";
import fc from "fast-check";
import { CmdSyntaxError } from "../../../../lib/hw/cmd_text.ts";
import {
  decodeDesc,
  type Desc,
  devTlbSizeDecode,
  devTlbSizeEncode,
  encodeDesc,
  formatDesc,
  makeDesc,
  parseDesc,
  parseDescPattern,
} from "../../../../lib/hw/vtd/desc.ts";
import { PROPERTY_SETTINGS } from "../../../arbitraries.ts";
import { arbDesc } from "./arbitraries.ts";

// Encoding vectors: vtd-sva-pkvm.md §C.4 (computed there from the iommu.h QI_* macros),
// plus the two KVA-flush descriptors of §E.4.
const VECTORS: readonly { name: string; desc: Desc; qw0: bigint; qw1: bigint }[] = [
  {
    name: "C.4 IOTLB PSI did=5 addr=0 AM=2 IH=1 (DR=DW=1)",
    desc: makeDesc("IOTLB_INV", { gran: 3, did: 5, am: 2, ih: true, dr: true, dw: true }),
    qw0: 0x00000000000500f2n,
    qw1: 0x0000000000000042n,
  },
  {
    name: "C.4 IOTLB PSI did=5 addr=0 AM=2 IH=0 (DR=DW=0)",
    desc: makeDesc("IOTLB_INV", { gran: 3, did: 5, am: 2 }),
    qw0: 0x0000000000050032n,
    qw1: 0x0000000000000002n,
  },
  {
    name: "C.4 IOTLB DSI did=5 (DR=DW=1)",
    desc: makeDesc("IOTLB_INV", { gran: 2, did: 5, dr: true, dw: true }),
    qw0: 0x00000000000500e2n,
    qw1: 0n,
  },
  {
    name: "C.4 IOTLB global (DR=DW=1)",
    desc: makeDesc("IOTLB_INV", { gran: 1, dr: true, dw: true }),
    qw0: 0x00000000000000d2n,
    qw1: 0n,
  },
  {
    name: "C.4 DEVTLB sid=0x0300 qdep=32(->0) addr=0 mask=2",
    desc: makeDesc("DEV_TLB_INV", { sid: 0x300, mask: 2 }),
    qw0: 0x0000030000000003n,
    qw1: 0x0000000000001001n,
  },
  {
    name: "C.4 DEVTLB sid=0x0300 qdep=8 addr=0x5000 mask=0",
    desc: makeDesc("DEV_TLB_INV", { sid: 0x300, qdep: 8, addr: 0x5000n }),
    qw0: 0x0000030000080003n,
    qw1: 0x0000000000005000n,
  },
  {
    name: "C.4 DEVTLB sid=0x0300 all (addr 0, mask 52)",
    desc: makeDesc("DEV_TLB_INV", { sid: 0x300, mask: 52 }),
    qw0: 0x0000030000000003n,
    qw1: 0x7ffffffffffff001n,
  },
  {
    name: "C.4 DEVTLB sid=0x0381 pfsid=0x0300 addr=0 mask=2",
    desc: makeDesc("DEV_TLB_INV", { sid: 0x381, pfsid: 0x300, mask: 2 }),
    qw0: 0x0300038100000003n,
    qw1: 0x0000000000001001n,
  },
  {
    name: "C.4 PIOTLB PSI did=1 pasid=0x10 addr=0 AM=2 IH=0",
    desc: makeDesc("P_IOTLB_INV", { gran: 3, did: 1, pasid: 0x10, am: 2 }),
    qw0: 0x0000001000010036n,
    qw1: 0x0000000000000002n,
  },
  {
    name: "C.4 PIOTLB all did=1 pasid=0x10",
    desc: makeDesc("P_IOTLB_INV", { gran: 2, did: 1, pasid: 0x10 }),
    qw0: 0x0000001000010026n,
    qw1: 0n,
  },
  {
    name: "C.4 PDEVTLB sid=0x0300 pasid=0x10 addr=0 so=2",
    desc: makeDesc("P_DEV_TLB_INV", { sid: 0x300, pasid: 0x10, size_order: 2 }),
    qw0: 0x0000001003000008n,
    qw1: 0x0000000000001800n,
  },
  {
    name: "C.4 PDEVTLB same, all (so=52)",
    desc: makeDesc("P_DEV_TLB_INV", { sid: 0x300, pasid: 0x10, size_order: 52 }),
    qw0: 0x0000001003000008n,
    qw1: 0x7ffffffffffff800n,
  },
  {
    name: "C.4 PDEVTLB same, addr=0x5000 so=0",
    desc: makeDesc("P_DEV_TLB_INV", { sid: 0x300, pasid: 0x10, addr: 0x5000n }),
    qw0: 0x0000001003000008n,
    qw1: 0x0000000000005000n,
  },
  {
    name: "C.4 WAIT status_pa=0x12345678",
    desc: makeDesc("INV_WAIT", { addr: 0x12345678n }),
    qw0: 0x0000000200000025n,
    qw1: 0x0000000012345678n,
  },
  {
    name: "C.4 WAIT with PRQ drain",
    desc: makeDesc("INV_WAIT", { drain: true, addr: 0x12345678n }),
    qw0: 0x00000002000000a5n,
    qw1: 0x0000000012345678n,
  },
  { name: "C.4 CC global", desc: makeDesc("CC_INV", { gran: 1 }), qw0: 0x11n, qw1: 0n },
  {
    name: "C.4 CC device did=5 sid=0x0300 fm=0",
    desc: makeDesc("CC_INV", { gran: 3, did: 5, sid: 0x300 }),
    qw0: 0x0000030000050031n,
    qw1: 0n,
  },
  {
    name: "C.4 PC PASID-selective did=1 pasid=0x10",
    desc: makeDesc("PC_INV", { gran: 1, did: 1, pasid: 0x10 }),
    qw0: 0x0000001000010017n,
    qw1: 0n,
  },
  { name: "C.4 IEC global", desc: makeDesc("IEC_INV"), qw0: 0x4n, qw1: 0n },
  {
    name: "E.4 KVA PIOTLB did=1 pasid=0x10 addr=0xffff800000000000 am=35",
    desc: makeDesc("P_IOTLB_INV", {
      gran: 3,
      did: 1,
      pasid: 0x10,
      addr: 0xffff800000000000n,
      am: 35,
    }),
    qw0: 0x0000001000010036n,
    qw1: 0xffff800000000023n,
  },
  {
    name: "E.4 KVA PDEVTLB addr=0xffff800000000000 size_order=35",
    desc: makeDesc("P_DEV_TLB_INV", {
      sid: 0x300,
      pasid: 0x10,
      addr: 0xffff800000000000n,
      size_order: 35,
    }),
    qw0: 0x0000001003000008n,
    qw1: 0xffffbffffffff800n,
  },
];

Deno.test("encodeDesc() matches every reference encoding and decodeDesc() reverses it", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.name, () => {
      assert.deepEqual(encodeDesc(v.desc), [v.qw0, v.qw1]);
      assert.deepEqual(decodeDesc([v.qw0, v.qw1]), v.desc);
    });
  }
});

Deno.test("formatDesc() gives the canonical text and parseDesc() reads it back", async (t) => {
  const texts: [Desc, string][] = [
    [VECTORS[0].desc, "IOTLB_INV gran=psi did=5 am=2 ih dr dw"],
    [VECTORS[2].desc, "IOTLB_INV gran=dsi did=5 dr dw"],
    [VECTORS[4].desc, "DEV_TLB_INV sid=0x300 mask=2"],
    [VECTORS[7].desc, "DEV_TLB_INV sid=0x381 pfsid=0x300 mask=2"],
    [VECTORS[9].desc, "P_IOTLB_INV gran=pasid did=1 pasid=0x10"],
    [VECTORS[10].desc, "P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=2"],
    [VECTORS[13].desc, "INV_WAIT"],
    [VECTORS[14].desc, "INV_WAIT drain"],
    [VECTORS[16].desc, "CC_INV gran=device did=5 sid=0x300"],
    [VECTORS[17].desc, "PC_INV gran=pasid did=1 pasid=0x10"],
    [VECTORS[18].desc, "IEC_INV"],
  ];
  for (const [desc, text] of texts) {
    await t.step(text, () => {
      assert.equal(formatDesc(desc), text);
      assert.deepEqual(parseDesc(formatDesc(desc, { full: true })), desc);
    });
  }
  assert.equal(formatDesc(VECTORS[13].desc, { full: true }), "INV_WAIT addr=0x12345678");
});

Deno.test("parseDesc() accepts the short aliases, any field order and explicit defaults", () => {
  assert.deepEqual(parseDesc("IOTLB dw dr ih am=2 did=5 gran=PSI"), VECTORS[0].desc);
  assert.deepEqual(parseDesc("WAIT sw data=2"), makeDesc("INV_WAIT"));
  assert.deepEqual(parseDesc("PDEVTLB size_order=2 pasid=16 sid=768"), VECTORS[10].desc);
  assert.equal(parseDesc("PIOTLB gran=psi").op, "P_IOTLB_INV");
});

Deno.test("parseDescPattern() keeps wildcards and captures", () => {
  const p = parseDescPattern("INV_WAIT addr=_");
  assert.deepEqual(p.fields.addr, { t: "any" });
  const q = parseDescPattern("IOTLB_INV gran=psi did=$D");
  assert.deepEqual(q.fields.did, { t: "cap", name: "D" });
});

function syntaxError(text: string): CmdSyntaxError {
  try {
    parseDesc(text);
  } catch (e) {
    if (e instanceof CmdSyntaxError) return e;
    throw e;
  }
  assert.fail(`"${text}" parsed`);
}

Deno.test("parseDesc() names the problem and does not accept SMMUv3 opcodes", () => {
  assert.match(syntaxError("CMD_SYNC").message, /unknown opcode "CMD_SYNC"/);
  assert.match(syntaxError("ATC_INV").message, /unknown opcode "ATC_INV"/);
  const near = syntaxError("IOTLB_IVN");
  assert.match(near.message, /did you mean "IOTLB_INV"\?/);
  const wide = syntaxError("IOTLB_INV did=70000");
  assert.match(wide.message, /did 70000 does not fit in 16 bits/);
  assert.equal(wide.offset, 14);
});

Deno.test("encodeDesc() rejects what the hardware cannot express", () => {
  assert.throws(() => encodeDesc(makeDesc("DEV_TLB_INV", { mask: 53 })), /mask 53 is not in 0..52/);
  assert.throws(
    () => encodeDesc(makeDesc("DEV_TLB_INV", { mask: 2, addr: 0x1000n })),
    /addr 0x1000 is not aligned to its size 0x4000/,
  );
  assert.throws(
    () => encodeDesc(makeDesc("P_DEV_TLB_INV", { pfsid: 0x10000 })),
    /pfsid 65536 does not fit in 16 bits/,
  );
  assert.throws(() => encodeDesc(makeDesc("IOTLB_INV", { am: 64 })), /am 64 does not fit/);
});

Deno.test("decodeDesc() rejects unknown types, stray bits and sizes without a zero bit", () => {
  assert.throws(() => decodeDesc([0x9n, 0n]), /unknown opcode 0x9/);
  assert.throws(() => decodeDesc([0x3n, 0x2n]), /bits 0x2 of word 1/);
  assert.throws(() => decodeDesc([0x8n, 0xfffffffffffff800n]), /have no 0 bit/);
});

// VT-d spec 6.5.2.5: the lowest 0 bit at or above bit 12 gives the size when S is set.
Deno.test("devTlbSizeEncode() marks the size with the lowest clear bit", async (t) => {
  const rows: [number, bigint][] = [[0, 0x0n], [1, 0x0n], [2, 0x1000n], [3, 0x3000n]];
  for (const [order, bits] of rows) {
    await t.step(`order ${order}: address bits 0x${bits.toString(16)}`, () => {
      assert.deepEqual(devTlbSizeEncode(0n, order), { bits, s: order > 0 });
      assert.deepEqual(devTlbSizeDecode(bits, order > 0), { page: 0n, order });
    });
  }
});

Deno.test("decodeDesc(encodeDesc(d)) is d and parseDesc(formatDesc(d)) is d", () => {
  fc.assert(
    fc.property(arbDesc, (d) => {
      assert.deepEqual(decodeDesc(encodeDesc(d)), d);
      assert.deepEqual(parseDesc(formatDesc(d, { full: true })), d);
    }),
    PROPERTY_SETTINGS,
  );
});
