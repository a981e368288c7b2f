import assert from "node:assert/strict";
import {
  devtlbInvalidationWithPasid,
  intelPasidSetupFirstLevel,
  intelPasidSetupSecondLevel,
  intelPasidTearDownEntry,
  pasidFlushCaches,
} from "../../../../lib/drivers/intel/pasid.ts";
import { cmds, during, world } from "./fixtures.ts";

Deno.test("pasidFlushCaches() flushes PASID cache and PASID-IOTLB only in caching mode", () => {
  const w = world();
  const cm = w.iommu("dmar0", { extra: ["caching_mode"] });
  const hw = w.iommu("dmar1");
  pasidFlushCaches(cm, { pasid: 0, did: 2 });
  pasidFlushCaches(hw, { pasid: 0, did: 2 });
  assert.deepEqual(cmds(w.log.events), [
    "dmar0: PC_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("intelPasidSetup*() refuse a present entry and a missing stage", () => {
  const w = world();
  const u = w.iommu("dmar0", { caps: ["qis", "smts", "slts"] });
  const A = w.dev(u, { name: "A", sid: 0x300 });
  assert.equal(intelPasidSetupSecondLevel(A, { pasid: 0, did: 2 }), 0);
  assert.deepEqual(intelPasidSetupSecondLevel(A, { pasid: 0, did: 3 }), { errno: "EBUSY" });
  assert.deepEqual(intelPasidSetupFirstLevel(A, { pasid: 1, did: 3 }), { errno: "EINVAL" });
  assert.deepEqual(A.pasidTable.get(0), { present: true, fpd: false, did: 2, pgtt: "sl" });
});

// VT-d spec guidance as the kernel follows it: PASID cache, IOTLB (DSI for second stage,
// PASID-wide for first stage), device-TLB (non-PASID form for PASID 0).
Deno.test("intelPasidTearDownEntry() flushes PASID cache, IOTLB, device-TLB in order", async (t) => {
  await t.step("second stage, RID", () => {
    const w = world();
    const u = w.iommu("dmar0");
    const A = w.dev(u, { name: "A", sid: 0x300, ats: true, qdep: 8, extraDtlbFlush: true });
    intelPasidSetupSecondLevel(A, { pasid: 0, did: 2 });
    const ev = during(w.log, () => intelPasidTearDownEntry(A, { pasid: 0, variant: "CT-4" }));
    assert.deepEqual(cmds(ev), [
      "dmar0: PC_INV gran=pasid did=2",
      "dmar0: INV_WAIT",
      "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
      "dmar0: INV_WAIT",
      "dmar0: DEV_TLB_INV sid=0x300 qdep=8 mask=52",
      "dmar0: INV_WAIT",
    ]);
    assert.equal(A.pasidTable.has(0), false);
  });
  await t.step("first stage, PASID 5", () => {
    const w = world();
    const u = w.iommu("dmar0");
    const A = w.dev(u, { name: "A", sid: 0x300, ats: true, pasid: true });
    intelPasidSetupFirstLevel(A, { pasid: 5, did: 1 });
    const ev = during(w.log, () => intelPasidTearDownEntry(A, { pasid: 5, variant: "CT-4" }));
    assert.deepEqual(cmds(ev), [
      "dmar0: PC_INV gran=pasid did=1 pasid=0x5",
      "dmar0: INV_WAIT",
      "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x5",
      "dmar0: INV_WAIT",
      "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x5 size_order=52",
      "dmar0: INV_WAIT",
    ]);
  });
});

Deno.test("intelPasidTearDownEntry() skips the device-TLB under caching mode in CT-1 only", async (t) => {
  for (const [v, n] of [["CT-1", 4], ["CT-2", 6]] as const) {
    await t.step(v, () => {
      const w = world();
      const u = w.iommu("dmar0", { extra: ["caching_mode"] });
      const A = w.dev(u, { name: "A", sid: 0x300, ats: true });
      intelPasidSetupSecondLevel(A, { pasid: 0, did: 2 });
      const ev = during(w.log, () => intelPasidTearDownEntry(A, { pasid: 0, variant: v }));
      assert.equal(cmds(ev).length, n);
    });
  }
});

Deno.test("intelPasidTearDownEntry() leaves FPD with faultIgnore and ignores absent entries", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const A = w.dev(u, { name: "A", sid: 0x300 });
  assert.deepEqual(
    during(w.log, () => intelPasidTearDownEntry(A, { pasid: 0, variant: "CT-4" })),
    [],
  );
  intelPasidSetupSecondLevel(A, { pasid: 0, did: 2 });
  intelPasidTearDownEntry(A, { pasid: 0, faultIgnore: true, variant: "CT-4" });
  assert.deepEqual(A.pasidTable.get(0), { present: false, fpd: true, did: 2, pgtt: "sl" });
  // A second teardown only clears the fault-disabled entry.
  assert.deepEqual(
    during(w.log, () => intelPasidTearDownEntry(A, { pasid: 0, variant: "CT-4" })),
    [],
  );
  assert.equal(A.pasidTable.has(0), false);
});

Deno.test("devtlbInvalidationWithPasid() does nothing without ATS", () => {
  const w = world();
  const A = w.dev(w.iommu("dmar0"), { name: "A", sid: 0x300 });
  devtlbInvalidationWithPasid(A, 0);
  assert.deepEqual(w.log.events, []);
});
