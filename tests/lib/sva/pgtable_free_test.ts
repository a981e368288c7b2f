// Tests of lib/sva/pgtable_free.ts: the deferred kernel page-table free of mm/pgtable-generic.c
// (CONFIG_ASYNC_KERNEL_PGTABLE_FREE, v6.18), and the v2 flush_tlb_kernel_range() hook.
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  flushScheduledWork,
  kernelPgtableWorkFunc,
  kernelPtFree,
  svaBindDevice,
  type SvaSystemOptions,
} from "../../../lib/sva/mod.ts";
import { proc, type SvaWorld, svaWorld, take } from "./_fixtures.ts";

const PSI_KVA = "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x1 addr=0xffff800000000000 am=35";

// One VT-d device (no ATS) bound to p1, so every flush is one PASID-IOTLB + wait.
function bound(sys: SvaSystemOptions = {}): SvaWorld {
  const w = svaWorld({ vtd: ["dmar0"], vtdDevs: { d: ["dmar0", 0x300, false] }, sys });
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs.d, mm: proc("p1") })));
  take(w);
  return w;
}

// The order of commands and page frees in the log.
function timeline(w: SvaWorld): string[] {
  return w.log.events.flatMap((e) =>
    e.kind === "cmd"
      ? [e.cmd.op]
      : e.kind === "trace" && e.name === "__pagetable_free"
      ? [`free ${e.data.page}`]
      : []
  );
}

Deno.test("kernelPtFree() on x86 queues the page; one work run flushes, then frees all", () => {
  const w = bound();
  assert.equal(kernelPtFree(w.sys, { atomic: true }), 1);
  assert.equal(kernelPtFree(w.sys), 2);
  // The static work item is scheduled once; both pages wait for it. Nothing reached the IOMMU.
  assert.deepEqual(w.sys.workqueue, [{ kind: "kernel_pgtable" }]);
  assert.deepEqual(w.sys.kernelPgtableList, [2, 1], "list_add: newest first");
  assert.deepEqual(timeline(w), []);
  assert.equal(flushScheduledWork(w.sys), 1);
  // One flush of [PAGE_OFFSET, TLB_FLUSH_ALL) for both pages, before either is freed.
  assert.deepEqual(timeline(w), ["P_IOTLB_INV", "INV_WAIT", "free 2", "free 1"]);
  assert.deepEqual(take(w), [PSI_KVA, "dmar0: INV_WAIT"]);
  assert.equal(w.sys.freedPtPages, 2);
});

Deno.test("kernelPtFree() on arm64 frees at once and defers nothing", () => {
  const w = svaWorld({ smmus: { smmu0: {} }, masters: { a: ["smmu0", 0x10, true] } });
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs.a, mm: proc("p1") })));
  take(w);
  kernelPtFree(w.sys, { atomic: true });
  assert.deepEqual(timeline(w), ["free 1"]);
  assert.deepEqual(w.sys.workqueue, []);
  assert.equal(flushScheduledWork(w.sys), 0);
});

Deno.test("kernelPgtableWorkFunc() takes only the pages queued before it runs", () => {
  const w = bound();
  kernelPtFree(w.sys);
  w.sys.workqueue.length = 0;
  kernelPgtableWorkFunc(w.sys);
  kernelPtFree(w.sys);
  assert.deepEqual(w.sys.kernelPgtableList, [2]);
  assert.deepEqual(w.sys.workqueue, [{ kind: "kernel_pgtable" }]);
});

Deno.test("kernelPtFree() in v2-work flushes the caller's range, freeing the page at once", async (t) => {
  const w = bound({ variant: "v2-work" });
  const range = { start: 0xffffc90000000000n, end: 0xffffc90000200000n };
  // [range.start, range.end - 1] is one aligned 2M block: PSI AM 9 at its start.
  const psi = "P_IOTLB_INV";
  await t.step("process context: the flush, then the free", () => {
    kernelPtFree(w.sys, { ...range, atomic: false });
    assert.deepEqual(timeline(w), [psi, "INV_WAIT", "free 1"]);
    assert.deepEqual(take(w), [
      "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x1 addr=0xffffc90000000000 am=9",
      "dmar0: INV_WAIT",
    ]);
  });
  await t.step("atomic: the page is freed before the deferred flush runs", () => {
    kernelPtFree(w.sys, { ...range, atomic: true });
    flushScheduledWork(w.sys);
    assert.deepEqual(timeline(w), ["free 2", psi, "INV_WAIT"]);
  });
});
