import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { vtdTag } from "../../../../lib/hw/vtd/caches.ts";
import { parseDesc } from "../../../../lib/hw/vtd/desc.ts";
import { vtdIommuCreate } from "../../../../lib/hw/vtd/iommu.ts";
import { qiSubmitSync } from "../../../../lib/hw/vtd/qi.ts";
import { qiConsume, vtdHwCreate } from "../../../../lib/hw/vtd/qi_consume.ts";
import { tlbInsert } from "../../../../lib/hw/tlb.ts";
import { attach, dma, map, unmapRaw, vtdSys } from "./_vtd_hw_fixtures.ts";

function hwWithLeaf() {
  const hw = vtdHwCreate({ scalable: true });
  tlbInsert(hw.caches.iotlb, {
    tag: vtdTag({ stage: "ss", did: 5, pasid: 0 }),
    iova: 0x40000n,
    size: 0x1000n,
    level: 3,
    out: 0x80040000n,
    prot: 3,
    root: 0n,
    filled: 0,
  });
  return hw;
}

Deno.test("qiConsume() acts on a submission only when its wait arrives", () => {
  const hw = hwWithLeaf();
  qiConsume(hw, parseDesc("IOTLB_INV gran=dsi did=5"));
  assert.equal(hw.pending.length, 1);
  assert.equal(hw.caches.iotlb.entries.length, 1, "not known to have acted before the wait");
  qiConsume(hw, parseDesc("INV_WAIT"));
  assert.equal(hw.pending.length, 0);
  assert.equal(hw.caches.iotlb.entries.length, 0);
});

Deno.test("qiConsume(): an interrupt-entry-cache invalidation touches no translation", () => {
  const hw = hwWithLeaf();
  qiConsume(hw, parseDesc("IEC_INV gran=global"));
  qiConsume(hw, parseDesc("INV_WAIT"));
  assert.equal(hw.caches.iotlb.entries.length, 1);
});

Deno.test("qiConsume() with nothing cached just forgets the submission", () => {
  const hw = vtdHwCreate({ scalable: true });
  qiConsume(hw, parseDesc("IOTLB_INV gran=global"));
  qiConsume(hw, parseDesc("INV_WAIT"));
  assert.equal(hw.pending.length, 0);
});

Deno.test("qiSubmitSync() hands every descriptor and its wait to the unit", () => {
  const iommu = vtdIommuCreate("dmar0", eventLogCreate());
  tlbInsert(iommu.hw.caches.iotlb, hwWithLeaf().caches.iotlb.entries[0]);
  qiSubmitSync(iommu, [parseDesc("IOTLB_INV gran=psi did=5 addr=0x40000")]);
  assert.equal(iommu.hw.pending.length, 0);
  assert.equal(iommu.hw.caches.iotlb.entries.length, 0);
  assert.equal(iommu.hw.scalable, true);
  assert.equal(vtdIommuCreate("dmar1", eventLogCreate(), { caps: ["qis"] }).hw.scalable, false);
});

// A device TLB and the IOTLB both hold 0x40000 for nic0's RID; the tables lose it without a
// flush, then one submission invalidates both, in either order (VT-d spec §6.5.2.5, §6.5.2.12).
function staleBoth() {
  const s = vtdSys();
  attach(s, s.nic, "S");
  map(s, "S", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  assert.equal(dma(s, s.nic, { iova: 0x40000n }).from, "walk");
  unmapRaw(s, "S", { iova: 0x40000n, size: 0x1000n });
  s.stamp = 7;
  s.iommu.hw.stamp = 7;
  return s;
}

const IOTLB = parseDesc("IOTLB_INV gran=psi did=5 addr=0x40000 ih dr dw");
const DEVTLB = parseDesc("DEV_TLB_INV sid=0x300 addr=0x40000");

Deno.test("qiConsume(): IOTLB first, then the device TLB, leaves nothing to refetch", () => {
  const s = staleBoth();
  qiSubmitSync(s.iommu, [IOTLB, DEVTLB]);
  assert.deepEqual(s.ep.atc.entries, []);
  assert.deepEqual(s.iommu.hw.caches.iotlb.entries, []);
});

Deno.test("qiConsume(): the device TLB first is refetched from the IOTLB it still finds", () => {
  const s = staleBoth();
  qiSubmitSync(s.iommu, [DEVTLB, IOTLB]);
  assert.deepEqual(s.iommu.hw.caches.iotlb.entries, []);
  assert.equal(s.ep.atc.entries.length, 1);
  const e = s.ep.atc.entries[0];
  assert.equal(e.out, 0x80040000n);
  assert.equal(e.filled, 7);
  assert.equal(
    e.note,
    "refetched from the IOTLB, which still held it, right after DEV_TLB_INV sid=0x300 " +
      "addr=0x40000 dropped it (no IOTLB invalidation ahead of it had removed the IOTLB entry)",
  );
  // The device keeps using what it refetched.
  assert.deepEqual(dma(s, s.nic, { iova: 0x40000n }), { pa: 0x80040000n, from: "atc" });
});

Deno.test("qiConsume(): an endpoint with ATS off asks for nothing", () => {
  const s = staleBoth();
  s.nic.atsEnabled = false;
  qiSubmitSync(s.iommu, [DEVTLB, IOTLB]);
  assert.deepEqual(s.ep.atc.entries, []);
});
