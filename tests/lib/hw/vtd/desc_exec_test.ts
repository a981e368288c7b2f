import assert from "node:assert/strict";
import {
  pasidCacheKey,
  type VtdCaches,
  vtdCachesCreate,
  type VtdTag,
  vtdTag,
} from "../../../../lib/hw/vtd/caches.ts";
import { decodeDesc, type Desc, parseDesc } from "../../../../lib/hw/vtd/desc.ts";
import {
  ccInvExecute,
  descBlock,
  devTlbInvRequest,
  iotlbInvExecute,
  pcInvExecute,
  piotlbInvExecute,
} from "../../../../lib/hw/vtd/desc_exec.ts";
import { tlbInsert } from "../../../../lib/hw/tlb.ts";

// IOTLB entries a-f and paging-structure entries p1-p4, named for the tables below.
const LEAVES: Record<string, [VtdTag, bigint]> = {
  a: [vtdTag({ stage: "ss", did: 5, pasid: 0 }), 0x40000n],
  b: [vtdTag({ stage: "ss", did: 5, pasid: 0 }), 0x80000n],
  c: [vtdTag({ stage: "ss", did: 5, pasid: 7 }), 0x40000n],
  d: [vtdTag({ stage: "fs", did: 5, pasid: 3 }), 0x90000n],
  e: [vtdTag({ stage: "fs", did: 6, pasid: 3 }), 0x40000n],
  f: [vtdTag({ stage: "fs", did: 6, pasid: 4 }), 0x40000n],
};
const TABLES: Record<string, [VtdTag, bigint, bigint, number]> = {
  p1: [vtdTag({ stage: "ss", did: 5, pasid: 0 }), 0x0n, 0x40000000n, 1],
  p2: [vtdTag({ stage: "ss", did: 5, pasid: 0 }), 0x40000000n, 0x40000000n, 1],
  p3: [vtdTag({ stage: "fs", did: 5, pasid: 3 }), 0x0n, 0x40000000n, 1],
  p4: [vtdTag({ stage: "fs", did: 6, pasid: 3 }), 0x0n, 0x200000n, 2],
};

function caches(): VtdCaches {
  const c = vtdCachesCreate();
  for (const [name, [tag, iova]] of Object.entries(LEAVES)) {
    const e = { tag, iova, size: 0x1000n, level: 3, out: iova, prot: 3, root: 0n, filled: 0 };
    tlbInsert(c.iotlb, { ...e, note: name });
  }
  for (const [name, [tag, iova, size, level]] of Object.entries(TABLES)) {
    const e = { tag, iova, size, level, out: 0x1000n, prot: 0, root: 0n, filled: 0 };
    tlbInsert(c.psc, { ...e, note: name });
  }
  return c;
}

const names = (c: VtdCaches) => ({
  iotlb: c.iotlb.entries.map((e) => e.note).join(""),
  psc: c.psc.entries.map((e) => e.note).join(" "),
});

function run(c: VtdCaches, d: Desc): void {
  if (d.op === "IOTLB_INV") iotlbInvExecute(c, d);
  else if (d.op === "P_IOTLB_INV") piotlbInvExecute(c, d);
  else throw new Error(d.op);
}

// Expected survivors worked out from the VT-d spec rev 5.10, Table 23 (IOTLB_INV) and
// Table 24 (P_IOTLB_INV), one row per granularity and hint.
const ROWS: readonly { desc: string; iotlb: string; psc: string; src: string }[] = [
  { desc: "IOTLB_INV gran=global", iotlb: "", psc: "", src: "T23 global: all" },
  { desc: "IOTLB_INV gran=dsi did=5", iotlb: "ef", psc: "p4", src: "T23 DSI: DID" },
  {
    desc: "IOTLB_INV gran=psi did=5 addr=0x40000 am=1",
    iotlb: "bef",
    psc: "p2 p4",
    src: "T23 PSI: SS by DID+block, FS by DID, SS PSC by DID+block",
  },
  {
    desc: "IOTLB_INV gran=psi did=5 addr=0x40000 am=1 ih",
    iotlb: "bef",
    psc: "p1 p2 p4",
    src: "T23 PSI with IH: SS PSC kept, FS PSC by DID",
  },
  {
    desc: "IOTLB_INV gran=psi did=5 addr=0x81000 am=1",
    iotlb: "acef",
    psc: "p2 p4",
    src: "§6.5.2.3: AM masks ADDR's low bits (block 0x80000-0x81fff)",
  },
  {
    desc: "P_IOTLB_INV gran=pasid did=6 pasid=3",
    iotlb: "abcdf",
    psc: "p1 p2 p3",
    src: "T24 PASID-selective: DID+PASID, FS PSC",
  },
  {
    desc: "P_IOTLB_INV gran=pasid did=5 pasid=7",
    iotlb: "abdef",
    psc: "p1 p2 p3 p4",
    src: "T24 PASID-selective: SS IOTLB entries too, SS PSC never",
  },
  {
    desc: "P_IOTLB_INV gran=psi did=6 pasid=3 addr=0x40000",
    iotlb: "abcdf",
    psc: "p1 p2 p3",
    src: "T24 PSI: FS by DID+PASID+block, FS PSC too",
  },
  {
    desc: "P_IOTLB_INV gran=psi did=6 pasid=3 addr=0x40000 ih",
    iotlb: "abcdf",
    psc: "p1 p2 p3 p4",
    src: "T24 PSI with IH: PSC kept",
  },
  {
    desc: "P_IOTLB_INV gran=psi did=5 pasid=7 addr=0x40000",
    iotlb: "abcdef",
    psc: "p1 p2 p3 p4",
    src: "T24 PSI: SS entries not applicable",
  },
];

Deno.test("iotlbInvExecute()/piotlbInvExecute() follow the spec's invalidation tables", async (t) => {
  for (const r of ROWS) {
    await t.step(`${r.desc} (${r.src})`, () => {
      const c = caches();
      run(c, parseDesc(r.desc));
      assert.deepEqual(names(c), { iotlb: r.iotlb, psc: r.psc });
    });
  }
});

Deno.test("pcInvExecute() selects PASID-cache entries by DID, PASID, or all", async (t) => {
  const rows = [
    { desc: "PC_INV gran=all did=5", left: ["784:0"] },
    { desc: "PC_INV gran=pasid did=5 pasid=7", left: ["768:0", "784:0"] },
    { desc: "PC_INV gran=pasid did=6 pasid=7", left: ["768:0", "768:7", "784:0"] },
    { desc: "PC_INV gran=global", left: [] },
  ];
  for (const r of rows) {
    await t.step(r.desc, () => {
      const c = vtdCachesCreate();
      for (const [sid, pasid, did] of [[0x300, 0, 5], [0x300, 7, 5], [0x310, 0, 6]]) {
        const e = { sid, pasid, did, stage: "ss" as const, root: 0n, filled: 0 };
        c.pasid.set(pasidCacheKey(sid, pasid), e);
      }
      const d = parseDesc(r.desc);
      assert.equal(d.op, "PC_INV");
      if (d.op === "PC_INV") pcInvExecute(c, d);
      assert.deepEqual([...c.pasid.keys()], r.left);
    });
  }
});

// Table 21: FM 3 masks source-id bits 2:0, so 0x300 also names 0x301 and 0x305.
Deno.test("ccInvExecute() selects context-cache entries by requester id, DID, or all", async (t) => {
  const rows = [
    { desc: "CC_INV gran=device did=5 sid=0x300", left: [0x301, 0x305, 0x310] },
    { desc: "CC_INV gran=device did=5 sid=0x300 fm=3", left: [0x310] },
    { desc: "CC_INV gran=device did=6 sid=0x300 fm=3", left: [0x300, 0x301, 0x305, 0x310] },
    { desc: "CC_INV gran=domain did=5", left: [0x310] },
    { desc: "CC_INV gran=global", left: [] },
  ];
  for (const r of rows) {
    await t.step(r.desc, () => {
      const c = vtdCachesCreate();
      for (const [sid, did] of [[0x300, 5], [0x301, 5], [0x305, 5], [0x310, 6]]) {
        c.context.set(sid, { sid, did, root: 0n, filled: 0 });
      }
      const d = parseDesc(r.desc);
      if (d.op === "CC_INV") ccInvExecute(c, d);
      assert.deepEqual([...c.context.keys()], r.left);
    });
  }
});

// §6.5.2.5-6.5.2.6 with the size encoding of §C.2 of the reference (2^order pages).
Deno.test("devTlbInvRequest() turns device-TLB descriptors into Invalidate Requests", async (t) => {
  const rows = [
    { desc: "DEV_TLB_INV sid=0x300 addr=0x40000 mask=1", want: [null, 0x40000n, 0x42000n] },
    { desc: "DEV_TLB_INV sid=0x300 addr=0x5000", want: [null, 0x5000n, 0x6000n] },
    { desc: "DEV_TLB_INV sid=0x300 mask=52", want: [null] },
    { desc: "P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=2", want: [16, 0n, 0x4000n] },
    { desc: "P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=52", want: [16] },
    {
      desc: "P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0x2000 global",
      want: [null, 0x2000n, 0x3000n],
    },
  ] as const;
  for (const r of rows) {
    await t.step(r.desc, () => {
      const d = parseDesc(r.desc);
      assert.ok(d.op === "DEV_TLB_INV" || d.op === "P_DEV_TLB_INV");
      const [pasid, start, end] = r.want;
      const want = start === undefined ? { pasid } : { pasid, start, end };
      assert.deepEqual(devTlbInvRequest(d), want);
    });
  }
});

Deno.test("descBlock() masks the address to its 2^am-page block", () => {
  assert.deepEqual(descBlock(0x41000n, 1), { start: 0x40000n, end: 0x42000n });
  assert.deepEqual(descBlock(0x7000n, 0), { start: 0x7000n, end: 0x8000n });
  assert.deepEqual(descBlock(0x1234_5000n, 9), { start: 0x1220_0000n, end: 0x1240_0000n });
});

// The encoding vectors of vtd-sva-pkvm.md §C.4, decoded from their raw words: the S bit and
// the ones below the size bit give the block the Invalidate Request names.
Deno.test("devTlbInvRequest() reads the S-bit size encoding of raw descriptors", async (t) => {
  const rows = [
    {
      name: "DEVTLB addr=0 mask=2",
      words: [0x0000030000000003n, 0x1001n],
      want: [null, 0n, 0x4000n],
    },
    { name: "DEVTLB all", words: [0x0000030000000003n, 0x7ffffffffffff001n], want: [null] },
    { name: "PDEVTLB addr=0 so=2", words: [0x0000001003000008n, 0x1800n], want: [16, 0n, 0x4000n] },
    { name: "PDEVTLB all", words: [0x0000001003000008n, 0x7ffffffffffff800n], want: [16] },
    {
      name: "PDEVTLB addr=0x5000 so=0",
      words: [0x0000001003000008n, 0x5000n],
      want: [16, 0x5000n, 0x6000n],
    },
  ] as const;
  for (const r of rows) {
    await t.step(r.name, () => {
      const d = decodeDesc(r.words);
      assert.ok(d.op === "DEV_TLB_INV" || d.op === "P_DEV_TLB_INV");
      const [pasid, start, end] = r.want;
      assert.deepEqual(
        devTlbInvRequest(d),
        start === undefined ? { pasid } : { pasid, start, end },
      );
    });
  }
});
