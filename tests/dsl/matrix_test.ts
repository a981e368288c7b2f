import assert from "node:assert/strict";
import { buildWorld } from "../../dsl/build.ts";
import { loadSuite } from "../../dsl/suite.ts";
import { whenHolds } from "../../dsl/matrix.ts";

const SPEC = `invspec: 1
name: switches
iommus:
  smmu0: { kind: smmuv3, features: [range_inv] }
  dmar0: { kind: vtd, psi: true }
matrix: { psi: [true, false], range_inv: [false], arm-smmu-v3: [mainline, v9] }
steps: []
`;

Deno.test("expandMatrix() gives every combination, the last axis fastest", () => {
  const l = loadSuite([{ file: "m.inv.yaml", text: SPEC }]);
  assert.deepEqual(l.specErrors, []);
  assert.deepEqual(l.scenarios.map((s) => s.cell.name), [
    "psi=true, range_inv=false, arm-smmu-v3=mainline",
    "psi=true, range_inv=false, arm-smmu-v3=v9",
    "psi=false, range_inv=false, arm-smmu-v3=mainline",
    "psi=false, range_inv=false, arm-smmu-v3=v9",
  ]);
});

Deno.test("a matrix axis switches SMMUv3 features and VT-d capabilities of their own kind", () => {
  const l = loadSuite([{ file: "m.inv.yaml", text: SPEC }]);
  const [on, , off] = l.scenarios.map((s) => buildWorld(s.spec, s.cell));
  const smmu = (w: typeof on) => w.iommus.smmu0.kind === "smmuv3" ? w.iommus.smmu0.smmu : undefined;
  const vtd = (w: typeof on) => w.iommus.dmar0.kind === "vtd" ? w.iommus.dmar0.iommu : undefined;
  assert.equal(smmu(on)?.features.range_inv, false);
  assert.equal(vtd(on)?.caps.psi, true);
  assert.equal(vtd(off)?.caps.psi, false);
  assert.equal(on.variants["arm-smmu-v3"], "mainline");
});

Deno.test("whenHolds() compares with the cell, then with the run's variants", () => {
  const cell = { values: { range_inv: true }, name: "range_inv=true" };
  const variants = { "arm-smmu-v3": "mainline" };
  assert.ok(whenHolds({ range_inv: [true] }, cell, variants));
  assert.ok(!whenHolds({ range_inv: [false] }, cell, variants));
  assert.ok(whenHolds({ "arm-smmu-v3": ["mainline", "v9"] }, cell, variants));
  assert.ok(!whenHolds({ "arm-smmu-v3": ["v9"] }, cell, variants));
});
