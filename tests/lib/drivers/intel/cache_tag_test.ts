import assert from "node:assert/strict";
import { U64_MAX } from "../../../../lib/bits.ts";
import { iommuAttachDevice, iommuAttachDevicePasid } from "../../../../lib/drivers/intel/attach.ts";
import {
  type CacheTag,
  cacheTagAssign,
  cacheTagFlushAll,
  cacheTagFlushRange,
  cacheTagFlushRangeNp,
  cacheTagUnassign,
} from "../../../../lib/drivers/intel/cache_tag.ts";
import type { DmarDomain } from "../../../../lib/drivers/intel/domain.ts";
import type { VtdVariant } from "../../../../lib/drivers/intel/variant.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

function tagList(d: DmarDomain): string[] {
  return d.cacheTags.map((t: CacheTag) =>
    `${t.type} ${t.iommu.name} did=${t.domainId} pasid=${t.pasid} dev=${
      t.dev?.name ?? "-"
    } users=${t.users}`
  );
}

// §A.7: domain D with DID 5 on dmar0 and DID 7 on dmar1; A (dmar0, ATS, 0x0300),
// B (dmar0, no ATS), C (dmar1, ATS, 0x8000), attached A, B, C.
function a7(variant: VtdVariant, opts: { mamv?: number } = {}) {
  const w = world();
  const dmar0 = w.iommu("dmar0", { mamv: opts.mamv });
  const dmar1 = w.iommu("dmar1", { mamv: opts.mamv });
  const A = w.dev(dmar0, { name: "A", sid: 0x0300, ats: true });
  const B = w.dev(dmar0, { name: "B", sid: 0x0308 });
  const C = w.dev(dmar1, { name: "C", sid: 0x8000, ats: true });
  const D = w.domain("D", { variant, dids: { dmar0: 5, dmar1: 7 } });
  for (const dev of [A, B, C]) assert.equal(iommuAttachDevice(D, dev), 0);
  return { w, D, A, B, C, dmar0, dmar1 };
}

const A7_GROUPED = [
  "IOTLB dmar1 did=7 pasid=0 dev=- users=1",
  "DEVTLB dmar1 did=7 pasid=0 dev=C users=1",
  "IOTLB dmar0 did=5 pasid=0 dev=- users=2",
  "DEVTLB dmar0 did=5 pasid=0 dev=A users=1",
];

Deno.test("cacheTagAssign() keeps one unit's tags together from CT-2 on (§A.7)", async (t) => {
  for (const v of ["CT-2", "CT-3", "CT-4"] as const) {
    await t.step(v, () => assert.deepEqual(tagList(a7(v).D), A7_GROUPED));
  }
});

Deno.test("cacheTagAssign() appends at the tail in CT-1 (§A.7)", () => {
  assert.deepEqual(tagList(a7("CT-1").D), [
    "IOTLB dmar0 did=5 pasid=0 dev=- users=2",
    "DEVTLB dmar0 did=5 pasid=0 dev=A users=1",
    "IOTLB dmar1 did=7 pasid=0 dev=- users=1",
    "DEVTLB dmar1 did=7 pasid=0 dev=C users=1",
  ]);
});

Deno.test("cacheTagAssign() traces the new or the reused tag with its users", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true });
  const B = w.dev(dmar0, { name: "B", sid: 0x308 });
  const D = w.domain("D");
  const ev = during(w.log, () => {
    iommuAttachDevice(D, A);
    iommuAttachDevice(D, B);
  });
  // trace.h cache_tag_log: iommu, dev (the unit's own name for an IOTLB tag), type,
  // domain_id, pasid, users; DID 2 is the first the ida hands out (IDA_START_DID).
  assert.deepEqual(traces(ev, "cache_tag_assign"), [
    { iommu: "dmar0", dev: "dmar0", type: "iotlb", domain_id: 2, pasid: 0, users: 1 },
    { iommu: "dmar0", dev: "A", type: "devtlb", domain_id: 2, pasid: 0, users: 1 },
    { iommu: "dmar0", dev: "dmar0", type: "iotlb", domain_id: 2, pasid: 0, users: 2 },
  ]);
});

Deno.test("cacheTagUnassign() traces before the decrement and drops the tag at zero", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300 });
  const D = w.domain("D");
  const k = { did: 9, dev: A, pasid: 0, type: "IOTLB" } as const;
  cacheTagAssign(D, k);
  cacheTagAssign(D, k);
  const ev = during(w.log, () => {
    cacheTagUnassign(D, k);
    cacheTagUnassign(D, k);
    cacheTagUnassign(D, k); // no match: silently nothing
  });
  assert.deepEqual(traces(ev, "cache_tag_unassign").map((d) => d.users), [2, 1]);
  assert.deepEqual(D.cacheTags, []);
});

Deno.test("cacheTagAssign() separates tags by PASID and device-TLBs by device", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
  const B = w.dev(dmar0, { name: "B", sid: 0x308, ats: true, pasid: true });
  const D = w.domain("D", { kind: "fs_paging" });
  iommuAttachDevicePasid(D, A, { pasid: 5 });
  iommuAttachDevicePasid(D, B, { pasid: 5 });
  iommuAttachDevicePasid(D, A, { pasid: 6 });
  assert.deepEqual(tagList(D), [
    "IOTLB dmar0 did=2 pasid=5 dev=- users=2",
    "DEVTLB dmar0 did=2 pasid=5 dev=A users=1",
    "DEVTLB dmar0 did=2 pasid=5 dev=B users=1",
    "IOTLB dmar0 did=2 pasid=6 dev=- users=1",
    "DEVTLB dmar0 did=2 pasid=6 dev=A users=1",
  ]);
});

Deno.test("cacheTagAssignDomain() gives SVA domains DID 1, one IOTLB tag per unit", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const dmar1 = w.iommu("dmar1");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
  const B = w.dev(dmar0, { name: "B", sid: 0x308, pasid: true });
  const C = w.dev(dmar1, { name: "C", sid: 0x8000, pasid: true });
  const S = w.domain("S", { kind: "sva", pasid: 0x10 });
  for (const dev of [A, B, C]) assert.equal(iommuAttachDevicePasid(S, dev, { pasid: 0x10 }), 0);
  assert.deepEqual(tagList(S), [
    "IOTLB dmar1 did=1 pasid=16 dev=- users=1",
    "IOTLB dmar0 did=1 pasid=16 dev=- users=2",
    "DEVTLB dmar0 did=1 pasid=16 dev=A users=1",
  ]);
  assert.equal(S.iommuArray.size, 0);
  assert.equal(dmar0.didsInUse.size, 0);
});

Deno.test("cacheTagAssignDomain() tags a nested domain's parent with the nested DID", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true });
  const P = w.domain("P", { nestParent: true });
  const N = w.domain("N", { kind: "nested", parent: P });
  assert.equal(iommuAttachDevice(N, A), 0);
  assert.deepEqual(tagList(N), [
    "IOTLB dmar0 did=2 pasid=0 dev=- users=1",
    "DEVTLB dmar0 did=2 pasid=0 dev=A users=1",
  ]);
  assert.deepEqual(tagList(P), [
    "NESTING_IOTLB dmar0 did=2 pasid=0 dev=- users=1",
    "NESTING_DEVTLB dmar0 did=2 pasid=0 dev=A users=1",
  ]);
  assert.notEqual(P.qiBatch, null);
});

// §B.8: CT-4, PSI, MAMV 18, DR=DW=1, TE on; unmap 0x3000-0x4fff, empty freelist (ih 1):
// B.1 gives addr 0, AM 3. The default ATS depth is 32, written as 0.
Deno.test("cacheTagFlushRange() emits the §B.8 end-to-end sequence", () => {
  const { w, D } = a7("CT-4");
  const ev = during(w.log, () => cacheTagFlushRange(D, { start: 0x3000n, end: 0x4fffn, ih: 1 }));
  assert.deepEqual(cmds(ev), [
    "dmar1: IOTLB_INV gran=psi did=7 am=3 ih dr dw",
    "dmar1: DEV_TLB_INV sid=0x8000 mask=3",
    "dmar1: INV_WAIT",
    "dmar0: IOTLB_INV gran=psi did=5 am=3 ih dr dw",
    "dmar0: DEV_TLB_INV sid=0x300 mask=3",
    "dmar0: INV_WAIT",
  ]);
  const flush = traces(ev, "cache_tag_flush_range");
  assert.equal(flush.length, 4);
  for (const f of flush) {
    assert.deepEqual([f.start, f.end, f.addr, f.mask, "pages" in f], [
      0x3000n,
      0x4fffn,
      0n,
      3,
      false,
    ]);
  }
  assert.deepEqual(
    flush.map((f) => `${f.iommu} ${f.dev}[${f.pasid}] ${f.type} did ${f.domain_id}`),
    [
      "dmar1 dmar1[0] iotlb did 7",
      "dmar1 C[0] devtlb did 7",
      "dmar0 dmar0[0] iotlb did 5",
      "dmar0 A[0] devtlb did 5",
    ],
  );
  assert.equal(traces(ev, "qi_submit").length, 4);
});

Deno.test("cacheTagFlushRange() falls back to DSI when AM exceeds MAMV (§B.8, MAMV 2)", () => {
  const { w, D } = a7("CT-4", { mamv: 2 });
  const ev = during(w.log, () => cacheTagFlushRange(D, { start: 0x3000n, end: 0x4fffn, ih: 1 }));
  assert.deepEqual(cmds(ev), [
    "dmar1: IOTLB_INV gran=dsi did=7 dr dw",
    "dmar1: DEV_TLB_INV sid=0x8000 mask=3",
    "dmar1: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=5 dr dw",
    "dmar0: DEV_TLB_INV sid=0x300 mask=3",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("cacheTagFlushRange() puts IH in the IOTLB descriptor only from CT-4 (6.18 fix)", async (t) => {
  for (const [v, ih] of [["CT-1", ""], ["CT-2", ""], ["CT-3", ""], ["CT-4", " ih"]] as const) {
    await t.step(v, () => {
      const { w, D } = a7(v);
      const ev = during(
        w.log,
        () => cacheTagFlushRange(D, { start: 0x3000n, end: 0x4fffn, ih: 1 }),
      );
      assert.equal(
        cmds(ev).find((c) => c.startsWith("dmar1: IOTLB")),
        `dmar1: IOTLB_INV gran=psi did=7 am=3${ih} dr dw`,
      );
    });
  }
});

Deno.test("cacheTagFlushRange() submits each descriptor alone in CT-1 and traces pages", () => {
  const { w, D } = a7("CT-1");
  const ev = during(w.log, () => cacheTagFlushRange(D, { start: 0x3000n, end: 0x4fffn, ih: 1 }));
  assert.deepEqual(cmds(ev), [
    "dmar0: IOTLB_INV gran=psi did=5 am=3 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 mask=3",
    "dmar0: INV_WAIT",
    "dmar1: IOTLB_INV gran=psi did=7 am=3 dr dw",
    "dmar1: INV_WAIT",
    "dmar1: DEV_TLB_INV sid=0x8000 mask=3",
    "dmar1: INV_WAIT",
  ]);
  // CT-1 traces the rounded page count: 2^3 pages.
  assert.deepEqual(traces(ev, "cache_tag_flush_range").map((f) => f.pages), [8n, 8n, 8n, 8n]);
});

// §B.6: 17 ATS devices behind one unit: 1 IOTLB + 17 device-TLB descriptors. The batch
// submits when it reaches 16, then the remaining 2 at the end of the walk.
Deno.test("cacheTagFlushRange() submits 16 descriptors per batch", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const D = w.domain("D");
  for (let i = 0; i < 17; i++) {
    iommuAttachDevice(D, w.dev(dmar0, { name: `d${i}`, sid: 0x100 + i, ats: true }));
  }
  const ev = during(w.log, () => cacheTagFlushRange(D, { start: 0n, end: 0xfffn, ih: 0 }));
  const lines = cmds(ev);
  assert.equal(lines.length, 20);
  assert.deepEqual(lines.flatMap((c, i) => c.endsWith("INV_WAIT") ? [i] : []), [16, 19]);
  assert.equal(D.qiBatch?.index, 0);
});

// §B.2 trap: a NESTING_DEVTLB tag sets addr 0 / mask 52 for the rest of the walk.
Deno.test("cacheTagFlushRange() flushes nesting device-TLBs whole, and so every later tag", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const dmar1 = w.iommu("dmar1");
  const X = w.dev(dmar0, { name: "X", sid: 0x300, ats: true });
  const Y = w.dev(dmar1, { name: "Y", sid: 0x8000, ats: true });
  const P = w.domain("P", { nestParent: true });
  const N = w.domain("N", { kind: "nested", parent: P });
  iommuAttachDevice(P, X);
  iommuAttachDevice(N, Y); // dmar1 tags go to the head of P's list
  assert.deepEqual(tagList(P), [
    "NESTING_IOTLB dmar1 did=2 pasid=0 dev=- users=1",
    "NESTING_DEVTLB dmar1 did=2 pasid=0 dev=Y users=1",
    "IOTLB dmar0 did=2 pasid=0 dev=- users=1",
    "DEVTLB dmar0 did=2 pasid=0 dev=X users=1",
  ]);
  const ev = during(w.log, () => cacheTagFlushRange(P, { start: 0x3000n, end: 0x4fffn, ih: 1 }));
  assert.deepEqual(cmds(ev), [
    "dmar1: IOTLB_INV gran=psi did=2 am=3 ih dr dw",
    "dmar1: DEV_TLB_INV sid=0x8000 mask=52",
    "dmar1: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual(traces(ev, "cache_tag_flush_range").map((f) => f.mask), [3, 52, 52, 52]);
});

Deno.test("cacheTagFlushRange() sends the extra device-TLB flush for quirky endpoints", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true, extraDtlbFlush: true });
  const D = w.domain("D", { kind: "fs_paging" });
  iommuAttachDevice(D, A);
  iommuAttachDevicePasid(D, A, { pasid: 7 });
  const ev = during(w.log, () => cacheTagFlushRange(D, { start: 0x5000n, end: 0x5fffn, ih: 0 }));
  // New tags go after the last tag of their unit, so the RID pair comes first.
  assert.deepEqual(cmds(ev), [
    "dmar0: P_IOTLB_INV gran=psi did=2 addr=0x5000",
    "dmar0: DEV_TLB_INV sid=0x300 addr=0x5000",
    "dmar0: DEV_TLB_INV sid=0x300 addr=0x5000",
    "dmar0: P_IOTLB_INV gran=psi did=2 pasid=0x7 addr=0x5000",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x7 addr=0x5000",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x7 addr=0x5000",
    "dmar0: INV_WAIT",
  ]);
});

function svaPair(variant: VtdVariant) {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
  const B = w.dev(dmar0, { name: "B", sid: 0x308, pasid: true });
  const S = w.domain("S", { kind: "sva", pasid: 0x10, variant });
  iommuAttachDevicePasid(S, A, { pasid: 0x10 });
  iommuAttachDevicePasid(S, B, { pasid: 0x10 });
  return { w, S };
}

Deno.test("cacheTagFlushRange() on SVA uses PASID-IOTLB except in the CT-3 regression", async (t) => {
  const rows: [VtdVariant, string][] = [
    ["CT-2", "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 am=1"],
    ["CT-3", "dmar0: IOTLB_INV gran=psi did=1 am=1 dr dw"],
    ["CT-4", "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 am=1"],
  ];
  for (const [v, iotlb] of rows) {
    await t.step(v, () => {
      const { w, S } = svaPair(v);
      const ev = during(w.log, () => cacheTagFlushRange(S, { start: 0x0n, end: 0x1fffn, ih: 0 }));
      assert.deepEqual(cmds(ev), [
        iotlb,
        "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=1",
        "dmar0: INV_WAIT",
      ]);
    });
  }
});

// A first-stage domain on PASID 5 of an ATS device: CT-1/CT-2 flush the device-TLB with
// the non-PASID descriptor (the bug v6.17 fixed, [ML-pasidfix]); CT-3 on go through
// flush_range and use the PASID form.
Deno.test("cacheTagFlushAll() per version: non-PASID device-TLB bug until CT-3", async (t) => {
  const PIOTLB = "dmar0: P_IOTLB_INV gran=pasid did=2 pasid=0x5";
  const rows: [VtdVariant, string[], string][] = [
    ["CT-1", [
      PIOTLB,
      "dmar0: INV_WAIT",
      "dmar0: DEV_TLB_INV sid=0x300 mask=52",
      "dmar0: INV_WAIT",
    ], "cache_tag_flush_all"],
    [
      "CT-2",
      [PIOTLB, "dmar0: DEV_TLB_INV sid=0x300 mask=52", "dmar0: INV_WAIT"],
      "cache_tag_flush_all",
    ],
    ["CT-3", [
      PIOTLB,
      "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x5 size_order=52",
      "dmar0: INV_WAIT",
    ], "cache_tag_flush_range"],
    ["CT-4", [
      PIOTLB,
      "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x5 size_order=52",
      "dmar0: INV_WAIT",
    ], "cache_tag_flush_range"],
  ];
  for (const [v, want, event] of rows) {
    await t.step(v, () => {
      const w = world();
      const dmar0 = w.iommu("dmar0");
      const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
      const D = w.domain("D", { kind: "fs_paging", variant: v });
      assert.equal(iommuAttachDevicePasid(D, A, { pasid: 5 }), 0);
      const ev = during(w.log, () => cacheTagFlushAll(D));
      assert.deepEqual(cmds(ev), want);
      assert.equal(traces(ev, event).length, 2);
    });
  }
});

Deno.test("cacheTagFlushAll() in CT-3+ traces the whole space; CT-3 with pages -1", async (t) => {
  for (const v of ["CT-3", "CT-4"] as const) {
    await t.step(v, () => {
      const { w, D } = a7(v);
      const ev = during(w.log, () => cacheTagFlushAll(D));
      assert.deepEqual(cmds(ev), [
        "dmar1: IOTLB_INV gran=dsi did=7 dr dw",
        "dmar1: DEV_TLB_INV sid=0x8000 mask=52",
        "dmar1: INV_WAIT",
        "dmar0: IOTLB_INV gran=dsi did=5 dr dw",
        "dmar0: DEV_TLB_INV sid=0x300 mask=52",
        "dmar0: INV_WAIT",
      ]);
      const f = traces(ev, "cache_tag_flush_range")[0];
      assert.deepEqual([f.start, f.end, f.addr, f.mask, f.pages], [
        0n,
        U64_MAX,
        0n,
        52,
        v === "CT-3" ? U64_MAX : undefined,
      ]);
    });
  }
});

Deno.test("cacheTagFlushRangeNp() flushes IOTLB tags only under caching mode", () => {
  const w = world();
  const cm = w.iommu("dmar0", { extra: ["caching_mode"] });
  const plain = w.iommu("dmar1");
  const A = w.dev(cm, { name: "A", sid: 0x300, ats: true });
  const C = w.dev(plain, { name: "C", sid: 0x8000, ats: true });
  const D = w.domain("D");
  iommuAttachDevice(D, A);
  iommuAttachDevice(D, C);
  const ev = during(w.log, () => cacheTagFlushRangeNp(D, { start: 0x3000n, end: 0x4fffn }));
  // No IH on this path; the DEVTLB tag of the caching-mode unit is traced but sends nothing;
  // the other unit's tags send nothing and are not traced.
  assert.deepEqual(cmds(ev), ["dmar0: IOTLB_INV gran=psi did=2 am=3 dr dw", "dmar0: INV_WAIT"]);
  assert.deepEqual(traces(ev, "cache_tag_flush_range_np").map((f) => f.type), ["iotlb", "devtlb"]);
});

Deno.test("cacheTagFlushRangeNp() never flushes first-stage domains", () => {
  const w = world();
  const cm = w.iommu("dmar0", { extra: ["caching_mode", "rwbf"] });
  const D = w.domain("D", { kind: "fs_paging" });
  iommuAttachDevice(D, w.dev(cm, { name: "A", sid: 0x300 }));
  const ev = during(w.log, () => cacheTagFlushRangeNp(D, { start: 0x3000n, end: 0x4fffn }));
  assert.deepEqual(cmds(ev), []);
  assert.deepEqual(traces(ev, "iommu_flush_write_buffer"), [{ iommu: "dmar0" }]);
});

Deno.test("cacheTagFlushRange() on a domain without tags emits nothing", () => {
  const w = world();
  const D = w.domain("D");
  assert.deepEqual(
    during(w.log, () => cacheTagFlushRange(D, { start: 0n, end: 0xfffn, ih: 0 })),
    [],
  );
});
