import assert from "node:assert/strict";
import { buildWorld } from "../../../dsl/build.ts";
import { loadSuite } from "../../../dsl/suite.ts";
import type { World } from "../../../dsl/world.ts";
import { ARM_HEAD, SELFTEST_HEAD } from "./iommufd_fixtures.ts";

function worldOf(text: string): World {
  const r = loadSuite([{ file: "t.inv.yaml", text: text + "steps: []\n" }]);
  assert.deepEqual(r.specErrors, []);
  const [scn] = r.scenarios;
  return buildWorld(scn.spec, scn.cell);
}

Deno.test("iommufdBuild() creates the objects in declaration order, IDs from 1", () => {
  const w = worldOf(SELFTEST_HEAD);
  assert.deepEqual(w.iommufd?.ids, { ioas: 1, dev: 2, parent: 3, nested: 4, viommu: 5, vdev: 6 });
  const types = [...(w.iommufd?.fd.objects.values() ?? [])].map((o) => [o.id, o.type]);
  assert.deepEqual(types, [
    [1, "IOAS"],
    [2, "DEVICE"],
    [3, "HWPT_PAGING"],
    [4, "HWPT_NESTED"],
    [5, "VIOMMU"],
    [6, "VDEVICE"],
  ]);
});

Deno.test("iommufdBuild() gives an ARM vIOMMU its SMMU and the S2 parent's VMID", () => {
  const w = worldOf(ARM_HEAD);
  const v = w.iommufd?.fd.objects.get(w.iommufd.ids.vsmmu);
  assert.ok(v?.type === "VIOMMU" && v.viommu.driver === "arm-smmu-v3");
  assert.equal(v.viommu.vmid, 5);
  assert.equal(v.viommu.smmu, w.iommus.smmu0.kind === "smmuv3" ? w.iommus.smmu0.smmu : null);
  const vdev = w.iommufd?.fd.objects.get(w.iommufd.ids.vdev);
  assert.ok(vdev?.type === "VDEVICE");
  assert.equal(vdev.virtId, 0x99n);
});

Deno.test("iommufdBuild() finalises an S2 parent no attach has finalised, taking VMID 1", () => {
  // arm_smmu_domain_finalise(): VMIDs are allocated from 1 per SMMU (VMID 0 is for S1/bypass).
  const w = worldOf(
    ARM_HEAD.replace(
      "s2: { nest_parent: true, vmid: 5, iommu: smmu0 }",
      "s2: { nest_parent: true }",
    ),
  );
  const v = w.iommufd?.fd.objects.get(w.iommufd.ids.vsmmu);
  assert.ok(v?.type === "VIOMMU" && v.viommu.driver === "arm-smmu-v3");
  assert.equal(v.viommu.vmid, 1);
});

Deno.test("buildWorld() opens no iommufd for a spec without an iommufd: section", () => {
  const w = worldOf("invspec: 1\nname: t\niommus:\n  smmu0: { kind: smmuv3 }\n");
  assert.equal(w.iommufd, undefined);
});

Deno.test("a built World with iommufd objects survives structuredClone", () => {
  const w = worldOf(ARM_HEAD);
  const c = structuredClone(w);
  const v = c.iommufd?.fd.objects.get(c.iommufd.ids.vsmmu);
  assert.ok(v?.type === "VIOMMU" && v.viommu.driver === "arm-smmu-v3");
  // The vIOMMU still points at the clone's own SMMU, not at the original's.
  assert.equal(v.viommu.smmu, c.iommus.smmu0.kind === "smmuv3" ? c.iommus.smmu0.smmu : null);
});
