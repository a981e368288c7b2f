import assert from "node:assert/strict";
import {
  flushContextDevice,
  flushIotlbDsi,
  iommuFlushWriteBuffer,
  qiFlushDevIotlb,
  qiFlushPasidCache,
  qiFlushPiotlb,
  qiFlushPiotlbAll,
  quirkExtraDevTlbFlush,
} from "../../../../lib/drivers/intel/qi_flush.ts";
import { cmds, traces, world } from "./fixtures.ts";

Deno.test("qiFlush*() submit one descriptor each, with its wait", () => {
  const w = world();
  const u = w.iommu("dmar0");
  flushContextDevice(u, { did: 5, sid: 0x300 });
  flushIotlbDsi(u, 5);
  qiFlushPasidCache(u, { did: 1, pasid: 0x10 });
  qiFlushPiotlbAll(u, { did: 1, pasid: 0x10 });
  // §C.4 vectors for the CC / PC / PIOTLB forms.
  assert.deepEqual(cmds(w.log.events), [
    "dmar0: CC_INV gran=device did=5 sid=0x300",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=5 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: PC_INV gran=pasid did=1 pasid=0x10",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x10",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("flushContext/flushIotlb() go through registers on a unit without QI", () => {
  const w = world();
  const u = w.iommu("dmar0", { caps: ["psi", "smts", "slts"] });
  flushContextDevice(u, { did: 5, sid: 0x300 });
  flushIotlbDsi(u, 5);
  assert.deepEqual(cmds(w.log.events), []);
  assert.deepEqual(traces(w.log.events, "__iommu_flush_context"), [
    { iommu: "dmar0", did: 5, sid: 0x300, fm: 0, gran: 3 },
  ]);
  assert.equal(traces(w.log.events, "__iommu_flush_iotlb").length, 1);
});

Deno.test("qiFlushDevIotlb() is skipped while translation is disabled", () => {
  const w = world();
  const u = w.iommu("dmar0");
  u.translationEnabled = false;
  qiFlushDevIotlb(u, { sid: 0x300, pfsid: 0, qdep: 8, addr: 0n, mask: 52 });
  assert.deepEqual(w.log.events, []);
});

Deno.test("qiFlushPiotlb() WARNs on zero pages and sends -1 pages as all-in-PASID", () => {
  const w = world();
  const u = w.iommu("dmar0");
  qiFlushPiotlb(u, { did: 1, pasid: 2, addr: 0n, npages: 0n, ih: false });
  qiFlushPiotlb(u, { did: 1, pasid: 2, addr: 0n, npages: (1n << 64n) - 1n, ih: false });
  assert.deepEqual(w.log.events[0], {
    kind: "warn",
    fn: "qi_flush_piotlb",
    what: "WARN_ON(!npages)",
  });
  assert.deepEqual(cmds(w.log.events), [
    "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x2",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("quirkExtraDevTlbFlush() repeats the flush only for quirky endpoints", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const plain = w.dev(u, { name: "a", sid: 0x300, ats: true });
  const quirky = w.dev(u, { name: "b", sid: 0x308, ats: true, extraDtlbFlush: true });
  quirkExtraDevTlbFlush(plain, { addr: 0n, mask: 52, pasid: 0, qdep: 0 });
  quirkExtraDevTlbFlush(quirky, { addr: 0n, mask: 52, pasid: 0, qdep: 0 });
  quirkExtraDevTlbFlush(quirky, { addr: 0n, mask: 52, pasid: 4, qdep: 0 });
  assert.deepEqual(cmds(w.log.events), [
    "dmar0: DEV_TLB_INV sid=0x308 mask=52",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x308 pasid=0x4 size_order=52",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("iommuFlushWriteBuffer() acts only on units with CAP.RWBF", () => {
  const w = world();
  iommuFlushWriteBuffer(w.iommu("dmar0"));
  iommuFlushWriteBuffer(w.iommu("dmar1", { extra: ["rwbf"] }));
  assert.deepEqual(traces(w.log.events, "iommu_flush_write_buffer"), [{ iommu: "dmar1" }]);
});
