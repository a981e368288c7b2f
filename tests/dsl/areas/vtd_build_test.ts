import assert from "node:assert/strict";
import { VTD_DEFAULT_CAPS } from "../../../lib/hw/vtd/iommu.ts";
import { vtdCapsOf, vtdDomainKind } from "../../../dsl/areas/vtd_build.ts";
import { buildWorld } from "../../../dsl/build.ts";
import { loadSuite } from "../../../dsl/suite.ts";
import type { World } from "../../../dsl/world.ts";
import { A7_HEAD } from "./vtd_fixtures.ts";

function worldOf(text: string, cell = 0): World {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  assert.deepEqual(r.specErrors, []);
  const scn = r.scenarios[cell];
  return buildWorld(scn.spec, scn.cell);
}

Deno.test("vtdCapsOf() applies a unit's flags over the default capabilities", () => {
  assert.deepEqual(new Set(vtdCapsOf({ kind: "vtd" })), new Set(VTD_DEFAULT_CAPS));
  const caps = vtdCapsOf({ kind: "vtd", caching_mode: true, psi: false });
  assert.ok(caps.includes("caching_mode"));
  assert.ok(!caps.includes("psi"));
  assert.equal(caps.length, VTD_DEFAULT_CAPS.length);
});

Deno.test("vtdDomainKind() maps type and level to the model's kinds", () => {
  assert.equal(vtdDomainKind({}), "ss_paging");
  assert.equal(vtdDomainKind({ level: "first" }), "fs_paging");
  assert.equal(vtdDomainKind({ type: "nested", parent: "p" }), "nested");
  assert.equal(vtdDomainKind({ type: "sva", pasid: 1 }), "sva");
});

Deno.test("buildVtd() creates units in declaration order, devices and fixed DIDs", () => {
  const w = worldOf(A7_HEAD + "steps: []\n");
  const u0 = w.iommus.dmar0;
  const u1 = w.iommus.dmar1;
  assert.ok(u0.kind === "vtd" && u1.kind === "vtd");
  assert.deepEqual([u0.iommu.seqId, u1.iommu.seqId], [0, 1]);
  assert.equal(u0.iommu.mamv, 18);
  const vtd = w.vtd!;
  assert.deepEqual([...vtd.devices.keys()], ["A", "B", "C"]);
  assert.equal(vtd.devices.get("C")?.iommu, u1.iommu);
  assert.equal(vtd.devices.get("A")?.atsEnabled, true);
  const d = vtd.domains.get("D")!;
  assert.equal(d.kind, "ss_paging");
  assert.deepEqual(d.fixedDids, { dmar0: 5, dmar1: 7 });
  assert.equal(w.domains.D.pt?.fmt, "vtdss");
  assert.equal(w.devices.A.kind, "vtd");
});

Deno.test("buildVtd() builds first-stage, nested (after its parent) and SVA domains", () => {
  const w = worldOf(`invspec: 1
name: t
iommus:
  dmar0: { kind: vtd, pgsize: [4K] }
domains:
  n: { type: nested, parent: s2 }
  s2: { nest_parent: true, did: 9 }
  f: { level: first, iommu: dmar0 }
  sva: { type: sva, pasid: 0x10 }
steps: []
`);
  const vtd = w.vtd!;
  assert.equal(vtd.domains.get("n")?.s2Domain, vtd.domains.get("s2"));
  assert.equal(vtd.domains.get("s2")?.nestedParent, true);
  assert.deepEqual(vtd.domains.get("s2")?.fixedDids, { dmar0: 9 });
  assert.equal(vtd.domains.get("f")?.kind, "fs_paging");
  assert.equal(w.domains.f.pt?.fmt, "x86_64");
  // The unit's page sizes bound the domain's when the domain names its unit.
  assert.equal(w.domains.f.pt?.pgsizeBitmap, 0x1000n);
  assert.equal(vtd.domains.get("sva")?.mmPasid, 0x10);
  assert.equal(w.domains.sva.pt, null);
  assert.equal(w.domains.n.pt, null);
});

Deno.test("buildVtd() gives every domain the cell's intel variant", () => {
  const text = A7_HEAD.replace("iommus:", "matrix: { intel: [CT-4, CT-1] }\niommus:") +
    "steps: []\n";
  assert.equal(worldOf(text, 0).vtd?.domains.get("D")?.variant, "CT-4");
  assert.equal(worldOf(text, 1).vtd?.domains.get("D")?.variant, "CT-1");
});

Deno.test("buildVtd() leaves a World without VT-d units alone", () => {
  const w = worldOf(
    "invspec: 1\nname: t\niommus:\n  smmu0: { kind: smmuv3 }\nsteps: []\n",
  );
  assert.equal(w.vtd, undefined);
});
