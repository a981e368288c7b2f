import assert from "node:assert/strict";
import { intelIommuProbeDevice } from "../../../../lib/drivers/intel/device.ts";
import { world } from "./fixtures.ts";

Deno.test("intelIommuProbeDevice() keeps pfsid only on units with DIT", () => {
  const w = world();
  const dit = w.iommu("dmar0", { extra: ["dit"] });
  const plain = w.iommu("dmar1");
  assert.equal(
    intelIommuProbeDevice(dit, { name: "vf", sid: 0x381, pfsid: 0x300, ats: true }).pfsid,
    0x300,
  );
  assert.equal(intelIommuProbeDevice(dit, { name: "pf", sid: 0x300, ats: true }).pfsid, 0x300);
  assert.equal(
    intelIommuProbeDevice(plain, { name: "vf", sid: 0x381, pfsid: 0x300, ats: true }).pfsid,
    0,
  );
});

Deno.test("intelIommuProbeDevice() needs the unit's device-TLB support for ATS", () => {
  const w = world();
  const noDt = w.iommu("dmar0", { caps: ["qis", "smts", "slts", "pasid"] });
  const d = intelIommuProbeDevice(noDt, {
    name: "a",
    sid: 1,
    ats: true,
    qdep: 8,
    extraDtlbFlush: true,
  });
  assert.deepEqual([d.atsSupported, d.atsEnabled, d.atsQdep, d.dtlbExtraInval], [
    false,
    false,
    0,
    false,
  ]);
  const legacy = w.iommu("dmar1", { caps: ["qis", "dev_iotlb", "pasid"] });
  const e = intelIommuProbeDevice(legacy, { name: "b", sid: 2, ats: true, pasid: true });
  // Legacy mode turns ATS on with the context entry, and has no PASIDs.
  assert.deepEqual([e.atsSupported, e.atsEnabled, e.atsQdep, e.pasidSupported], [
    true,
    false,
    32,
    false,
  ]);
});

Deno.test("intelIommuProbeDevice() rejects a bad RID or queue depth", () => {
  const u = world().iommu("dmar0");
  assert.throws(() => intelIommuProbeDevice(u, { name: "a", sid: 0x10000 }), RangeError);
  assert.throws(() => intelIommuProbeDevice(u, { name: "a", sid: 1, qdep: 33 }), /1\.\.32/);
});
