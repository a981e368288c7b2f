// Tests of lib/sva/kva.ts: iommu_sva_invalidate_kva_range() as merged (e37d5a2d60a3) and
// the two alternatives of seed 003 (variants v2-work and did-flush, not merged).
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  flushScheduledWork,
  invalidateKvaFunc,
  type Mm,
  svaBindDevice,
  svaHandleOf,
  svaInvalidateKvaRange,
  svaInvalidateKvaRangeV2,
  type SvaSystemOptions,
  svaUnbindDevice,
  TLB_FLUSH_ALL,
  X86_64_PAGE_OFFSET,
} from "../../../lib/sva/mod.ts";
import { proc, type SvaWorld, svaWorld, take, traces } from "./_fixtures.ts";

const KVA = { start: X86_64_PAGE_OFFSET, end: TLB_FLUSH_ALL };

function vtdWorld(sys: SvaSystemOptions = {}): SvaWorld {
  return svaWorld({
    vtd: ["dmar0", "dmar1"],
    vtdDevs: { d0: ["dmar0", 0x300, true], d1: ["dmar1", 0x8000, false] },
    sys,
  });
}

function bind(w: SvaWorld, dev: string, mm: Mm): void {
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs[dev], mm })));
}

Deno.test("svaInvalidateKvaRange() does nothing while no process is bound", () => {
  const w = vtdWorld();
  svaInvalidateKvaRange(w.sys, KVA);
  const p1 = proc("p1");
  bind(w, "d0", p1);
  svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "d0", mm: p1 })!);
  take(w);
  svaInvalidateKvaRange(w.sys, KVA);
  assert.deepEqual(take(w), []);
  assert.equal(w.sys.present, false);
});

Deno.test("svaInvalidateKvaRange() sends the §E.4 flush through the VT-d notifier", () => {
  const w = vtdWorld();
  // PASIDs 1..15 taken, so the process gets 0x10 as in the reference vectors.
  for (let p = 1; p < 0x10; p++) w.sys.pasids.add(p);
  const p1 = proc("p1");
  bind(w, "d0", p1);
  take(w);
  svaInvalidateKvaRange(w.sys, KVA);
  // vtd-sva-pkvm.md §E.4 words of the two descriptors, as qi_submit traces them.
  const words = w.log.events.flatMap((e) =>
    e.kind === "trace" && e.name === "qi_submit" ? [[e.data.qw0, e.data.qw1]] : []
  );
  assert.deepEqual(words, [
    [0x0000001000010036n, 0xffff800000000023n],
    [0x0000001003000008n, 0xffffbffffffff800n],
  ]);
  // intel_arch_invalidate_secondary_tlbs(): start != 0, so cache_tag_flush_range(start,
  // ULONG_MAX - 1): the smallest aligned block holding [0xffff888000000000, 2^64 - 2] is
  // the top 128 TiB, addr 0xffff800000000000 AM 35 (§B.1 KVA row).
  assert.deepEqual(take(w), [
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0xffff800000000000 am=35",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0xffff800000000000 size_order=35",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("svaInvalidateKvaRange() walks the bound processes newest first", () => {
  const w = vtdWorld();
  const p1 = proc("p1");
  const p2 = proc("p2");
  bind(w, "d1", p1);
  bind(w, "d1", p2);
  take(w);
  svaInvalidateKvaRange(w.sys, KVA);
  // One SVA domain per process (each its own batch), p2 first (list_add). d1 has no ATS.
  assert.deepEqual(take(w), [
    "dmar1: P_IOTLB_INV gran=psi did=1 pasid=0x2 addr=0xffff800000000000 am=35",
    "dmar1: INV_WAIT",
    "dmar1: P_IOTLB_INV gran=psi did=1 pasid=0x1 addr=0xffff800000000000 am=35",
    "dmar1: INV_WAIT",
  ]);
});

Deno.test("svaInvalidateKvaRangeDid() sends one DID 1 flush per unit (did-flush, not merged)", () => {
  const w = vtdWorld({ variant: "did-flush" });
  const p1 = proc("p1");
  const p2 = proc("p2");
  bind(w, "d0", p1);
  bind(w, "d1", p1); // the one VT-d SVA domain of p1 serves both units
  bind(w, "d1", p2);
  take(w);
  svaInvalidateKvaRange(w.sys, KVA);
  // Units in the order first met: p2's domain (dmar1), then p1's, whose newest attachment
  // is dmar1 again and then dmar0. Domain-selective IOTLB descriptors with DR/DW (the unit's
  // drain capabilities), each submission with its wait; no device-TLB flush.
  assert.deepEqual(take(w), [
    "dmar1: IOTLB_INV gran=dsi did=1 dr dw",
    "dmar1: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=1 dr dw",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("svaInvalidateKvaRangeV2() defers only in atomic context (v2-work, not merged)", async (t) => {
  const w = vtdWorld({ variant: "v2-work" });
  const range = { start: 0xffffc90000000000n, end: 0xffffc90000200000n };
  await t.step("nothing bound: nothing scheduled", () => {
    svaInvalidateKvaRangeV2(w.sys, { ...range, atomic: true });
    assert.equal(w.sys.workqueue.length, 0);
  });
  const p1 = proc("p1");
  bind(w, "d1", p1);
  take(w);
  // The caller's 2M range: 512 pages, already aligned: PSI at the start, AM 9.
  const psi = "dmar1: P_IOTLB_INV gran=psi did=1 pasid=0x1 addr=0xffffc90000000000 am=9";
  await t.step("process context: flushed at once", () => {
    svaInvalidateKvaRangeV2(w.sys, { ...range, atomic: false });
    assert.deepEqual(take(w), [psi, "dmar1: INV_WAIT"]);
  });
  await t.step("atomic: a work item per call, flushed when it runs", () => {
    svaInvalidateKvaRangeV2(w.sys, { ...range, atomic: true });
    svaInvalidateKvaRangeV2(w.sys, { ...range, atomic: true });
    assert.deepEqual(take(w), []);
    assert.equal(w.sys.workqueue.length, 2);
    assert.equal(flushScheduledWork(w.sys), 2);
    assert.deepEqual(take(w), [psi, "dmar1: INV_WAIT", psi, "dmar1: INV_WAIT"]);
  });
  await t.step("a work item left when the last process unbinds finds an empty list", () => {
    svaInvalidateKvaRangeV2(w.sys, { ...range, atomic: true });
    svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "d1", mm: p1 })!);
    take(w);
    assert.equal(flushScheduledWork(w.sys), 1);
    assert.ok(traces(w).includes("work_run"));
    assert.deepEqual(take(w), []);
  });
});

Deno.test("invalidateKvaFunc() does not check the present flag", () => {
  const w = vtdWorld();
  const p1 = proc("p1");
  bind(w, "d1", p1);
  take(w);
  w.sys.present = false;
  invalidateKvaFunc(w.sys, KVA);
  assert.equal(take(w).length, 2);
});
