import assert from "node:assert/strict";
import {
  vtdContextMem,
  vtdTranslate,
  vtdTranslateCached,
  vtdTranslateMem,
} from "../../../../lib/hw/vtd/translate.ts";
import { vtdCachesEmpty } from "../../../../lib/hw/vtd/caches.ts";
import { iommuMap } from "../../../../lib/pgtable/iommu.ts";
import { IOMMU_READ } from "../../../../lib/pgtable/pgtable.ts";
import { attach, dma, map, ROOTS, unmapRaw, vtdSys } from "./_vtd_hw_fixtures.ts";

const keys = (entries: readonly { tag: { key: string }; level: number }[]) =>
  entries.map((e) => `${e.tag.key}@${e.level}`);

Deno.test("vtdTranslate() walks, filling the PASID cache, paging-structure caches and IOTLB", () => {
  const s = vtdSys();
  attach(s, s.dev, "S");
  map(s, "S", { iova: 0x40000n, size: 0x2000n, pa: 0x80040000n });
  assert.deepEqual(dma(s, s.dev, { iova: 0x41008n }), { pa: 0x80041008n, from: "walk" });
  const c = s.iommu.hw.caches;
  // RID traffic in scalable mode uses the PASID-table entry of RID_PASID (0).
  assert.deepEqual(c.pasid.get("784:0"), {
    sid: 0x310,
    pasid: 0,
    did: 5,
    stage: "ss",
    root: ROOTS.S,
    filled: 0,
  });
  assert.deepEqual(keys(c.iotlb.entries), ["ss/5/0@3"]);
  // A 4-level table: the level-0, -1 and -2 table descriptors above the leaf.
  assert.deepEqual(keys(c.psc.entries), ["ss/5/0@0", "ss/5/0@1", "ss/5/0@2"]);
  assert.deepEqual(dma(s, s.dev, { iova: 0x41000n, write: true }), {
    pa: 0x80041000n,
    from: "iotlb",
  });
});

Deno.test("vtdTranslate() resumes from the deepest cached table descriptor", () => {
  const s = vtdSys();
  attach(s, s.dev, "S");
  // Not 2M aligned: 512 4K leaves in one level-3 table.
  map(s, "S", { iova: 0x200000n, size: 0x200000n, pa: 0x40001000n });
  assert.equal(dma(s, s.dev, { iova: 0x200000n }).from, "walk");
  // The table goes without any invalidation: the level-2 descriptor still points at it.
  unmapRaw(s, "S", { iova: 0x200000n, size: 0x200000n });
  assert.deepEqual(dma(s, s.dev, { iova: 0x200000n }), { pa: 0x40001000n, from: "iotlb" });
  assert.deepEqual(dma(s, s.dev, { iova: 0x201000n }), { fault: "FREED_TABLE" });
});

Deno.test("vtdTranslate() tags first-stage PASID translations with DID and PASID", () => {
  const s = vtdSys();
  s.nic.atsEnabled = false;
  attach(s, s.nic, "F", 3);
  map(s, "F", { iova: 0x40000n, size: 0x1000n, pa: 0x90040000n });
  assert.deepEqual(dma(s, s.nic, { iova: 0x40000n, pasid: 3 }), { pa: 0x90040000n, from: "walk" });
  assert.deepEqual(keys(s.iommu.hw.caches.iotlb.entries), ["fs/6/3@3"]);
  assert.deepEqual(dma(s, s.nic, { iova: 0x40000n }), { fault: "PASID_NOT_PRESENT" });
});

Deno.test("vtdTranslate() reports why a request does not translate", async (t) => {
  const s = vtdSys();
  attach(s, s.nic, "S");
  iommuMap(s.domains.S.pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x1000n, prot: IOMMU_READ });
  const opts = { mem: s.mem, scalable: true, stamp: 0 };
  const rows = [
    { what: "unknown requester id", sid: 0x999, want: "CONTEXT_NOT_PRESENT" },
    { what: "RID not attached", sid: 0x310, want: "PASID_NOT_PRESENT" },
    { what: "PASID on a device without PASIDs", sid: 0x310, pasid: 5, want: "PASID_NOT_ALLOWED" },
    { what: "nothing mapped", sid: 0x300, iova: 0x80000n, want: "F_TRANSLATION" },
    { what: "a write to a read-only page", sid: 0x300, write: true, want: "F_PERMISSION" },
    { what: "ATS from a device with ATS off", sid: 0x310, ats: true, want: "ATS_NOT_ALLOWED" },
  ];
  for (const r of rows) {
    await t.step(r.what, () => {
      const req = {
        sid: r.sid,
        pasid: r.pasid ?? null,
        iova: r.iova ?? 0x40000n,
        write: r.write ?? false,
        ats: r.ats,
      };
      assert.deepEqual(vtdTranslate(s.iommu.hw.caches, req, opts), { ok: false, fault: r.want });
    });
  }
  await t.step("a nested entry is not walked", () => {
    s.dev.pasidTable.set(0, { present: true, fpd: false, did: 9, pgtt: "nested" });
    const req = { sid: 0x310, pasid: null, iova: 0x40000n, write: false };
    assert.deepEqual(vtdTranslate(s.iommu.hw.caches, req, opts), {
      ok: false,
      fault: "UNMODELLED",
    });
  });
});

Deno.test("vtdTranslate() in legacy mode reads the context entry and refuses PASIDs", () => {
  const s = vtdSys({ legacy: true });
  const opts = { mem: s.mem, scalable: false, stamp: 4 };
  const req = { sid: 0x310, pasid: null, iova: 0x40000n, write: false };
  assert.deepEqual(vtdTranslate(s.iommu.hw.caches, req, opts), {
    ok: false,
    fault: "CONTEXT_NOT_PRESENT",
  });
  attach(s, s.dev, "S");
  map(s, "S", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  assert.equal(vtdTranslate(s.iommu.hw.caches, req, opts).ok, true);
  assert.deepEqual(s.iommu.hw.caches.context.get(0x310), {
    sid: 0x310,
    did: 5,
    root: ROOTS.S,
    filled: 4,
  });
  assert.deepEqual(keys(s.iommu.hw.caches.iotlb.entries), ["ss/5/0@3"]);
  assert.deepEqual(vtdTranslate(s.iommu.hw.caches, { ...req, pasid: 1 }, opts), {
    ok: false,
    fault: "PASID_NOT_ALLOWED",
  });
});

Deno.test("vtdTranslateMem() fills nothing; vtdTranslateCached() never walks", () => {
  const s = vtdSys();
  attach(s, s.dev, "S");
  map(s, "S", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  const req = { sid: 0x310, pasid: null, iova: 0x40000n, write: false };
  const opts = { mem: s.mem, scalable: true };
  assert.equal(vtdTranslateMem(req, opts).ok, true);
  assert.equal(vtdCachesEmpty(s.iommu.hw.caches), true);
  assert.deepEqual(vtdTranslateCached(s.iommu.hw.caches, req, opts), {
    ok: false,
    fault: "F_TRANSLATION",
  });
  dma(s, s.dev, { iova: 0x40000n });
  const hit = vtdTranslateCached(s.iommu.hw.caches, req, opts);
  assert.equal(hit.ok && hit.from, "iotlb");
  assert.deepEqual(vtdContextMem(s.mem, { sid: 0x310, pasid: null }, opts), {
    ok: true,
    tag: { key: "ss/5/0", stage: "ss", did: 5, pasid: 0 },
    root: ROOTS.S,
  });
});
