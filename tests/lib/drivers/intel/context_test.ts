import assert from "node:assert/strict";
import { domainContextClear, domainContextMapping } from "../../../../lib/drivers/intel/context.ts";
import { domainAttachIommu } from "../../../../lib/drivers/intel/domain.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

const LEGACY = ["psi", "read_drain", "write_drain", "qis", "dev_iotlb"] as const;

Deno.test("domainContextMapping() flushes DID 0's context and the DID under caching mode", () => {
  const w = world();
  const u = w.iommu("dmar0", { caps: [...LEGACY, "caching_mode"] });
  const A = w.dev(u, { name: "A", sid: 0x300, ats: true });
  assert.equal(A.atsEnabled, false);
  const D = w.domain("D");
  domainAttachIommu(D, u);
  const ev = during(w.log, () => domainContextMapping(D, A));
  assert.deepEqual(cmds(ev), [
    "dmar0: CC_INV gran=device sid=0x300",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
  ]);
  assert.equal(A.contextDid, 2);
  assert.equal(A.atsEnabled, true);
});

Deno.test("domainContextMapping() only flushes the write buffer on real hardware", () => {
  const w = world();
  const u = w.iommu("dmar0", { caps: [...LEGACY, "rwbf"] });
  const A = w.dev(u, { name: "A", sid: 0x300 });
  const D = w.domain("D");
  domainAttachIommu(D, u);
  const ev = during(w.log, () => domainContextMapping(D, A));
  assert.deepEqual(cmds(ev), []);
  assert.equal(traces(ev, "iommu_flush_write_buffer").length, 1);
});

// intel_context_flush_no_pasid() in legacy mode: device-selective context cache, DSI of
// the old DID, then the whole device-TLB with the extra-flush quirk; ATS goes off.
Deno.test("domainContextClear() flushes context cache, IOTLB and device-TLB", () => {
  const w = world();
  const u = w.iommu("dmar0", { caps: [...LEGACY] });
  const A = w.dev(u, { name: "A", sid: 0x300, ats: true, extraDtlbFlush: true, qdep: 4 });
  const D = w.domain("D");
  domainAttachIommu(D, u);
  domainContextMapping(D, A);
  const ev = during(w.log, () => domainContextClear(A));
  assert.deepEqual(cmds(ev), [
    "dmar0: CC_INV gran=device did=2 sid=0x300",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 qdep=4 mask=52",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 qdep=4 mask=52",
    "dmar0: INV_WAIT",
  ]);
  assert.equal(A.contextDid, null);
  assert.equal(A.atsEnabled, false);
});
