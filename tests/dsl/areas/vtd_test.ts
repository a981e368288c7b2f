import assert from "node:assert/strict";
import { AREAS, EXPECT_KEYS } from "../../../dsl/areas/mod.ts";
import { KIND_OPS } from "../../../dsl/areas/domain_verbs.ts";
import { VTD_AREA, VTD_KIND_OPS } from "../../../dsl/areas/vtd.ts";
import { collectUpdates } from "../../../dsl/cli.ts";
import { explain } from "../../../dsl/explain.ts";
import { loadSuite, runScenario } from "../../../dsl/suite.ts";
import { applyUpdates } from "../../../dsl/update.ts";
import { VARIANT_FAMILIES } from "../../../dsl/variants.ts";
import { A7_HEAD, failuresOf, ONE_UNIT_HEAD, runVtd, vtdSpecErrors } from "./vtd_fixtures.ts";

Deno.test("VTD_AREA is wired into the runner: area, generic verbs, keys, variants", () => {
  const names = AREAS.map((a) => a.name);
  assert.ok(names.includes("vtd"));
  // Before iommufd, whose nested HWPTs may sit on VT-d domains.
  if (names.includes("iommufd")) assert.ok(names.indexOf("vtd") < names.indexOf("iommufd"));
  assert.equal(KIND_OPS.vtd, VTD_KIND_OPS);
  assert.equal(EXPECT_KEYS.cache_tags, VTD_AREA.expect?.cache_tags);
  assert.equal(EXPECT_KEYS.trace, VTD_AREA.expect?.trace);
  assert.equal(VARIANT_FAMILIES.intel.default, "CT-4");
  assert.deepEqual(VARIANT_FAMILIES.intel.values, ["CT-4", "CT-3", "CT-2", "CT-1", "pre-tags"]);
});

Deno.test("expect lines on a VT-d queue use the VT-d codec, aliases included", () => {
  // The §C.5 short names (IOTLB, DEVTLB, WAIT) are aliases of the trace names.
  const r = runVtd(
    ONE_UNIT_HEAD + `steps:
  - attach: { device: dev0, domain: D }
  - flush_range: { domain: D, start: 0x1000, end: 0x2fff, ih: 1 }
    expect: [IOTLB gran=psi did=5 am=2 ih dr dw, DEVTLB sid=0x300 mask=2, WAIT]
`,
  );
  assert.deepEqual(failuresOf(r), []);
  const errs = vtdSpecErrors(
    ONE_UNIT_HEAD + "steps:\n  - flush_all: { domain: D }\n" +
      "    expect: [CMD_SYNC, IOTLB_INV gran=psi did=5 adr=0]\n",
  );
  assert.deepEqual(errs, [
    "11: Cannot read command: CMD_SYNC is not a command of vtd queues",
    '11: Cannot parse IOTLB_INV: unknown field "adr"',
  ]);
});

Deno.test("explain() prints VT-d device-TLB descriptors bit-exact", () => {
  // The §C.4 vector DEVTLB sid=0x0381 pfsid=0x0300 addr=0 mask=2: the PF source id is split
  // over qw0 15:12 and 63:52 (sent because the unit has DIT), the size is in the address.
  const text = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd, dit: true }
devices:
  vf: { iommu: dmar0, sid: 0x0381, pfsid: 0x0300, ats: true }
domains:
  D: {}
steps:
  - attach: { device: vf, domain: D }
  - flush_range: { domain: D, start: 0x1000, end: 0x2fff }
`;
  const loaded = loadSuite([{ file: "t.inv.yaml", text }]);
  const lines = explain(runScenario(loaded.scenarios[0]));
  assert.ok(
    lines.some((l) => l.includes("0300038100000003 0000000000001001  DEV_TLB_INV sid=0x381")),
    lines.join("\n"),
  );
});

const UPDATABLE = `${A7_HEAD}steps:
  - attach: { device: A, domain: D }
  - attach: { device: C, domain: D }
  - map: { domain: D, iova: 0x3000, size: 8K }
  - unmap: { domain: D, iova: 0x3000, size: 8K }
    expect:
      - dmar1: IOTLB_INV gran=psi did=7 am=3 ih dr dw   # dmar1 first (§A.7)
      - dmar1: DEV_TLB_INV sid=0x8000 mask=3
      - dmar1: INV_WAIT
      - dmar0: IOTLB_INV gran=psi did=$D0 am=3 ih dr dw
      - dmar0: DEV_TLB_INV sid=0x300 mask=3
      - dmar0: INV_WAIT
`;

function update(text: string): { text: string; changes: string[] } {
  const loaded = loadSuite([{ file: "u.inv.yaml", text }]);
  assert.deepEqual(loaded.specErrors, []);
  const reqs = collectUpdates(loaded.scenarios.map((s) => runScenario(s))).get("u.inv.yaml");
  const r = applyUpdates(text, reqs ?? []);
  return { text: r.text, changes: r.changes.map((c) => `${c.line} ${c.what} ${c.done}`) };
}

Deno.test("the VT-d update fixture passes as written", () => {
  assert.deepEqual(failuresOf(runVtd(UPDATABLE)), []);
});

Deno.test("--update restores a broken VT-d descriptor of a two-unit step byte for byte", () => {
  const broken = UPDATABLE.replace(
    "DEV_TLB_INV sid=0x8000 mask=3\n",
    "DEV_TLB_INV sid=0x8000 mask=2\n",
  );
  assert.ok(failuresOf(runVtd(broken)).length > 0);
  const r = update(broken);
  assert.equal(r.text, UPDATABLE);
  assert.deepEqual(r.changes, ["18 step 4 unmap true"]);
});

Deno.test("--update keeps the comment of a rewritten VT-d line and its captures", () => {
  const spec = `${ONE_UNIT_HEAD}steps:
  - attach: { device: dev0, domain: D }
  - flush_range: { domain: D, start: 0x3000, end: 0x4fff }
    expect:
      - IOTLB_INV gran=psi did=$DID am=3 dr dw   # 32K block at 0
      - DEV_TLB_INV sid=0x300 mask=3
      - INV_WAIT
`;
  assert.deepEqual(failuresOf(runVtd(spec)), []);
  const broken = spec.replace("did=$DID am=3", "did=$DID am=2");
  const r = update(broken);
  assert.equal(r.text, spec);
  assert.deepEqual(r.changes, ["13 step 2 flush_range true"]);
});
