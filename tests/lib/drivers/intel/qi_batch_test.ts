import assert from "node:assert/strict";
import {
  QI_MAX_BATCHED_DESC_COUNT,
  qiBatchAddDevIotlb,
  qiBatchAddIotlb,
  qiBatchAddPiotlbPages,
  qiBatchAlloc,
  qiBatchFlushDescs,
} from "../../../../lib/drivers/intel/qi_batch.ts";
import { cmds, world } from "./fixtures.ts";

const PSI = { did: 5, addr: 0n, sizeOrder: 0, gran: 3, honourIh: true } as const;

Deno.test("qiBatchAdd*() submits when the batch reaches 16 and keeps the rest", () => {
  const w = world();
  const iommu = w.iommu("dmar0");
  const batch = qiBatchAlloc();
  for (let i = 0; i < QI_MAX_BATCHED_DESC_COUNT + 1; i++) qiBatchAddIotlb({ iommu, batch }, PSI);
  assert.equal(cmds(w.log.events).length, 17);
  assert.equal(cmds(w.log.events)[16], "dmar0: INV_WAIT");
  assert.equal(batch.index, 1);
  qiBatchFlushDescs(iommu, batch);
  assert.equal(cmds(w.log.events).length, 19);
  assert.equal(batch.index, 0);
});

Deno.test("qiBatchFlushDescs() does nothing without a unit or with an empty batch", () => {
  const w = world();
  const iommu = w.iommu("dmar0");
  qiBatchFlushDescs(null, qiBatchAlloc());
  qiBatchFlushDescs(iommu, qiBatchAlloc());
  qiBatchFlushDescs(iommu, null);
  assert.deepEqual(w.log.events, []);
});

Deno.test("qiBatchAdd*() with no batch (CT-1) submits each descriptor with its own wait", () => {
  const w = world();
  const iommu = w.iommu("dmar0");
  qiBatchAddIotlb({ iommu, batch: null }, PSI);
  qiBatchAddDevIotlb({ iommu, batch: null }, { sid: 0x300, pfsid: 0, qdep: 8, addr: 0n, mask: 0 });
  assert.deepEqual(cmds(w.log.events), [
    "dmar0: IOTLB_INV gran=psi did=5 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 qdep=8",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("qiBatchAddPiotlbPages() skips 0 pages, with a WARN only in the unbatched form", () => {
  const w = world();
  const iommu = w.iommu("dmar0");
  const a = { did: 1, pasid: 5, addr: 0n, npages: 0n, ih: false };
  qiBatchAddPiotlbPages({ iommu, batch: qiBatchAlloc() }, a);
  assert.deepEqual(w.log.events, []);
  qiBatchAddPiotlbPages({ iommu, batch: null }, a);
  assert.deepEqual(w.log.events, [{
    kind: "warn",
    fn: "qi_flush_piotlb",
    what: "WARN_ON(!npages)",
  }]);
});
