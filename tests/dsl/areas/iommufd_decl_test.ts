import assert from "node:assert/strict";
import { loadSpecText } from "../../../dsl/load.ts";
import {
  iommufdDriverOf,
  iommufdIdOf,
  iommufdLayoutOf,
  iommufdObjects,
} from "../../../dsl/areas/iommufd_decl.ts";
import { ARM_HEAD, SELFTEST_HEAD } from "./iommufd_fixtures.ts";

function headOf(text: string) {
  const r = loadSpecText("t.inv.yaml", text + "steps: []\n");
  assert.deepEqual(r.diagnostics, []);
  return r.specs[0].head;
}

Deno.test("iommufdIdOf() numbers objects from 1 in declaration order, like an ALLOC1 xarray", () => {
  const head = headOf(SELFTEST_HEAD);
  assert.deepEqual(iommufdObjects(head).map(([n]) => [n, iommufdIdOf(head, n)]), [
    ["ioas", 1],
    ["dev", 2],
    ["parent", 3],
    ["nested", 4],
    ["viommu", 5],
    ["vdev", 6],
  ]);
  assert.equal(iommufdIdOf(head, "nope"), undefined);
});

Deno.test("iommufdDriverOf() follows references to the driver behind an object", async (t) => {
  const rows: readonly [string, string, string | undefined][] = [
    [SELFTEST_HEAD, "ioas", undefined],
    [SELFTEST_HEAD, "dev", "selftest"],
    [SELFTEST_HEAD, "parent", "selftest"],
    [SELFTEST_HEAD, "nested", "selftest"],
    [SELFTEST_HEAD, "viommu", "selftest"],
    [SELFTEST_HEAD, "vdev", "selftest"],
    [ARM_HEAD, "idev", "arm-smmu-v3"],
    [ARM_HEAD, "parent", "arm-smmu-v3"],
    [ARM_HEAD, "vsmmu", "arm-smmu-v3"],
    [ARM_HEAD, "vdev", "arm-smmu-v3"],
  ];
  for (const [text, name, driver] of rows) {
    await t.step(`${name} of ${text === ARM_HEAD ? "ARM" : "selftest"}`, () => {
      assert.equal(iommufdDriverOf(headOf(text), name), driver);
    });
  }
});

Deno.test("iommufdLayoutOf() gives each op's entry struct, none for objects without an op", () => {
  const st = headOf(SELFTEST_HEAD);
  assert.equal(iommufdLayoutOf(st, "nested"), "selftest");
  assert.equal(iommufdLayoutOf(st, "viommu"), "selftest_viommu");
  assert.equal(iommufdLayoutOf(st, "parent"), undefined);
  const arm = headOf(ARM_HEAD + "  anest: { type: hwpt_nested, parent: vsmmu }\n");
  assert.equal(iommufdLayoutOf(arm, "vsmmu"), "arm_smmuv3");
  // An ARM nested domain has no cache_invalidate_user: its invalidations go to the vIOMMU.
  assert.equal(iommufdLayoutOf(arm, "anest"), undefined);
});
