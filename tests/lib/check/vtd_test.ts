import assert from "node:assert/strict";
import { findingLine } from "../../../lib/check/finding.ts";
import { vtdCheck } from "../../../lib/check/vtd.ts";
import { parseDesc } from "../../../lib/hw/vtd/desc.ts";
import { qiSubmitSync } from "../../../lib/hw/vtd/qi.ts";
import { iommuMap } from "../../../lib/pgtable/iommu.ts";
import { type IoPgtable, ioPgtableAlloc } from "../../../lib/pgtable/pgtable.ts";
import {
  attach,
  dma,
  map,
  unmap,
  unmapRaw,
  type VtdSys,
  vtdSys,
} from "../hw/vtd/_vtd_hw_fixtures.ts";

const check = (s: VtdSys, step: number, tolerated?: (r: bigint, i: bigint, n: bigint) => boolean) =>
  vtdCheck(s.iommu, { step, tolerated }).map((f) => findingLine(f, { short: true }));

function withDma(): VtdSys {
  const s = vtdSys();
  attach(s, s.nic, "S");
  attach(s, s.dev, "S");
  map(s, "S", { iova: 0x40000n, size: 0x2000n, pa: 0x80040000n });
  assert.equal(dma(s, s.nic, { iova: 0x41000n }).from, "walk");
  assert.equal(dma(s, s.dev, { iova: 0x40000n }).from, "walk");
  return s;
}

Deno.test("vtdCheck() finds nothing after the driver's own unmap", () => {
  const s = withDma();
  assert.deepEqual(check(s, 0), []);
  unmap(s, "S", { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(check(s, 1), []);
});

Deno.test("vtdCheck() names each cached translation the tables no longer back, once", () => {
  const s = withDma();
  unmapRaw(s, "S", { iova: 0x40000n, size: 0x2000n });
  const found = vtdCheck(s.iommu, { step: 4 });
  assert.deepEqual(found.map((f) => findingLine(f, { short: true })), [
    "IOTLB dmar0 did=5 iova=0x41000",
    "IOTLB dmar0 did=5 iova=0x40000",
    "DEVTLB nic0 sid=0x300 iova=0x41000",
  ]);
  const [iotlb, , devtlb] = found;
  assert.equal(iotlb.what, "IOTLB of dmar0 (second-stage, DID 5) still maps 0x41000 → 0x80041000");
  assert.equal(iotlb.fix, "IOTLB_INV gran=psi did=5 addr=0x41000 ih would remove it");
  assert.deepEqual(iotlb.notes, ["the page table maps nothing there now"]);
  assert.equal(iotlb.since, 4);
  assert.equal(
    devtlb.what,
    "device TLB of nic0 (sid 0x300, no PASID) still maps 0x41000 → 0x80041000",
  );
  assert.equal(devtlb.fix, "DEV_TLB_INV sid=0x300 addr=0x41000 would remove it");
  assert.deepEqual(devtlb.notes, ["a Translation Request for it fails now (F_TRANSLATION)"]);
  assert.deepEqual(check(s, 5), [], "reported once");
});

Deno.test("vtdCheck() keeps a paging-structure entry of a freed table (IH set wrongly)", () => {
  const s = vtdSys();
  attach(s, s.dev, "S");
  map(s, "S", { iova: 0x200000n, size: 0x200000n, pa: 0x40001000n });
  dma(s, s.dev, { iova: 0x201000n });
  // The whole table goes, but the flush claims only leaves changed.
  unmapRaw(s, "S", { iova: 0x200000n, size: 0x200000n });
  qiSubmitSync(s.iommu, [parseDesc("IOTLB_INV gran=psi did=5 addr=0x200000 am=9 ih")]);
  const [f, ...rest] = vtdCheck(s.iommu, { step: 2 });
  assert.deepEqual(rest, []);
  assert.equal(findingLine(f, { short: true }), "PSC dmar0 did=5 iova=0x200000 level=2");
  assert.equal(f.fix, "IOTLB_INV gran=psi did=5 addr=0x200000 am=9 would remove it");
  assert.match(
    f.what,
    /^paging-structure cache of dmar0 \(second-stage, DID 5\) still holds the level-2 table descriptor for 0x200000 \(2M\) → table 0x[0-9a-f]+$/,
  );
  assert.match(f.notes[0], /^that entry is invalid now; table 0x[0-9a-f]+ was freed$/);
});

Deno.test("vtdCheck() names first-stage entries by DID and PASID, with PASID descriptors", () => {
  const s = vtdSys();
  attach(s, s.nic, "F", 3);
  map(s, "F", { iova: 0x40000n, size: 0x1000n, pa: 0x90040000n });
  assert.equal(dma(s, s.nic, { iova: 0x40000n, pasid: 3 }).from, "walk");
  unmapRaw(s, "F", { iova: 0x40000n, size: 0x1000n });
  const found = vtdCheck(s.iommu, { step: 1 });
  assert.deepEqual(found.map((f) => findingLine(f, { short: true })), [
    "IOTLB dmar0 did=6 pasid=3 iova=0x40000",
    "DEVTLB nic0 sid=0x300 pasid=3 iova=0x40000",
  ]);
  assert.equal(
    found[0].what,
    "IOTLB of dmar0 (first-stage, DID 6, PASID 0x3) still maps 0x40000 → 0x90040000",
  );
  assert.equal(
    found[0].fix,
    "P_IOTLB_INV gran=psi did=6 pasid=0x3 addr=0x40000 ih would remove it",
  );
  assert.equal(found[1].fix, "P_DEV_TLB_INV sid=0x300 pasid=0x3 addr=0x40000 would remove it");
});

Deno.test("vtdCheck() compares cached PASID-table and context entries with memory", () => {
  const s = withDma();
  s.dev.pasidTable.delete(0);
  const [f] = vtdCheck(s.iommu, { step: 2 });
  assert.equal(findingLine(f, { short: true }), "PASID dmar0 sid=0x310 pasid=0");
  assert.equal(f.fix, "PC_INV gran=pasid did=5 would remove it");
  assert.deepEqual(f.notes, ["the entry in memory is not usable now (PASID_NOT_PRESENT)"]);

  const l = vtdSys({ legacy: true });
  attach(l, l.dev, "S");
  map(l, "S", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  dma(l, l.dev, { iova: 0x40000n });
  l.dev.contextDid = 9;
  const [c] = vtdCheck(l.iommu, { step: 3 });
  assert.equal(findingLine(c, { short: true }), "CONTEXT dmar0 sid=0x310");
  assert.equal(c.fix, "CC_INV gran=device did=5 sid=0x310 would remove it");
  assert.deepEqual(c.notes, ["the entry in memory now holds DID 9"]);
});

Deno.test("vtdCheck() sees a domain id that now leads to other tables", () => {
  const s = withDma();
  // DID 5 (and its entries) now point at a copy of the tables at another base, unflushed.
  const other: IoPgtable = ioPgtableAlloc(s.log, { fmt: "vtdss", pgsizeBitmap: 0x40201000n });
  iommuMap(other, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  (s.mem.pgtables as Map<bigint, IoPgtable>).set(0x5000n, other);
  (s.mem.roots as Map<string, bigint>).set("S", 0x5000n);
  const found = vtdCheck(s.iommu, { step: 1 });
  const iotlb = found.filter((f) => f.kind === "IOTLB");
  assert.equal(iotlb.length, 2);
  assert.deepEqual(iotlb[0].notes, ["domain id 5 now translates through other tables"]);
});

Deno.test("vtdCheck() tolerates what a flush queue holds and a device TLB with ATS off", () => {
  const s = withDma();
  unmapRaw(s, "S", { iova: 0x40000n, size: 0x2000n });
  s.nic.atsEnabled = false;
  assert.deepEqual(check(s, 1, () => true), []);
  assert.deepEqual(check(s, 2), [
    "IOTLB dmar0 did=5 iova=0x41000",
    "IOTLB dmar0 did=5 iova=0x40000",
  ]);
  assert.equal(s.iommu.hw.caches.iotlb.entries[0].stale?.since, 1);
});

Deno.test("vtdCheck() without a memory view has nothing to check", () => {
  const s = withDma();
  s.iommu.hw.mem = null;
  unmapRaw(s, "S", { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(check(s, 1), []);
});
