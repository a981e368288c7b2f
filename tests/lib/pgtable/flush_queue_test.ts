import assert from "node:assert/strict";
import {
  iommuDmaUnmap,
  IOVA_DEFAULT_FQ_SIZE,
  iovaFqCreate,
  iovaFqFlush,
} from "../../../lib/pgtable/flush_queue.ts";
import { iommuMap } from "../../../lib/pgtable/iommu.ts";
import { SZ_2M, SZ_4K } from "../../../lib/pgtable/pgtable.ts";
import { ptRequests } from "../../../lib/pgtable/steps.ts";
import { allocPt, warns } from "./arbitraries.ts";

Deno.test("iommuDmaUnmap() without a flush queue is strict: one iotlb_sync", () => {
  const { pt } = allocPt();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  const r = iommuDmaUnmap(pt, null, { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(ptRequests(r.steps).map((s) => s.op), ["iotlb_sync"]);
});

Deno.test("iommuDmaUnmap() with a flush queue defers leaves, flushes walks at once", () => {
  const { pt } = allocPt();
  const fq = iovaFqCreate();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80201000n, size: SZ_2M }); // 4K pages in one table
  const leaves = iommuDmaUnmap(pt, fq, { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(ptRequests(leaves.steps), []);
  const table = iommuDmaUnmap(pt, fq, { iova: SZ_2M, size: SZ_2M });
  // io-pgtable-arm: tlb_flush_walk is not deferred, the table is freed during the unmap.
  assert.deepEqual(table.steps.map((s) => s.op), ["table_clear", "flush_walk", "table_free"]);
  assert.deepEqual(fq.entries.map((e) => [e.iova, e.size]), [[0x40000n, 0x2000n], [SZ_2M, SZ_2M]]);
  assert.deepEqual(iovaFqFlush(pt, fq), [{ op: "flush_all" }]);
  assert.deepEqual([fq.entries.length, fq.timerOn], [0, false]);
  assert.deepEqual(iovaFqFlush(pt, fq), []); // timer not armed: nothing
});

Deno.test("iommuDmaUnmap() on VT-d frees queued tables only after the flush-all", () => {
  const { pt } = allocPt({ fmt: "vtdss" });
  const fq = iovaFqCreate();
  iommuMap(pt, { iova: SZ_2M, paddr: 0x80201000n, size: SZ_2M });
  const r = iommuDmaUnmap(pt, fq, { iova: SZ_2M, size: SZ_2M });
  assert.deepEqual(ptRequests(r.steps), []);
  assert.equal(r.steps.filter((s) => s.op === "table_free").length, 0);
  assert.equal(fq.entries[0].freelist.length, 1);
  assert.deepEqual(iovaFqFlush(pt, fq).map((s) => s.op), ["flush_all", "table_free"]);
});

Deno.test("iommuDmaUnmap() flushes a full queue before queueing more", () => {
  const { pt } = allocPt();
  const fq = iovaFqCreate({ size: 2 });
  for (const iova of [0n, SZ_4K, 2n * SZ_4K]) iommuMap(pt, { iova, paddr: iova, size: SZ_4K });
  const steps = [0n, SZ_4K, 2n * SZ_4K].flatMap((iova) =>
    iommuDmaUnmap(pt, fq, { iova, size: SZ_4K }).steps
  );
  assert.deepEqual(ptRequests(steps), [{ op: "flush_all" }]);
  assert.deepEqual(fq.entries.map((e) => e.iova), [2n * SZ_4K]);
  assert.equal(IOVA_DEFAULT_FQ_SIZE, 256);
});

Deno.test("iommuDmaUnmap() aligns to the IOVA granule and WARNs on a short unmap", () => {
  const { log, pt } = allocPt();
  iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: SZ_4K });
  const r = iommuDmaUnmap(pt, null, { iova: 0x40010n, size: 0x10n });
  assert.equal(r.unmapped, SZ_4K);
  assert.deepEqual(warns(log.events), []);
  iommuDmaUnmap(pt, null, { iova: 0x40000n, size: SZ_4K });
  assert.deepEqual(warns(log.events), [
    "__arm_lpae_unmap: WARN_ON(!pte)",
    "__iommu_dma_unmap: WARN_ON(unmapped != size)",
  ]);
});
