// Tests of dsl/areas/pkvm.ts: the hypervisor declaration and its verbs.
import assert from "node:assert/strict";
import { loadSuite, runScenario } from "../../../dsl/suite.ts";

const HEAD = `invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3, features: [range_inv] }
  dmar0: { kind: vtd }
`;

function errors(text: string): string[] {
  return loadSuite([{ file: "t.inv.yaml", text }]).specErrors.map((d) =>
    `${d.range?.start.line}: ${d.title}${d.label ? ` (${d.label})` : ""}`
  );
}

Deno.test("pkvm: must name SMMUv3 instances, and its verbs need it", async (t) => {
  await t.step("a VT-d unit and a typo", () => {
    assert.deepEqual(errors(HEAD + "pkvm: { iommus: [dmar0, smmu1] }\nsteps: []\n"), [
      '6: No SMMUv3 named "dmar0"',
      '6: No SMMUv3 named "smmu1" (did you mean "smmu0"?)',
    ]);
  });
  await t.step("no pkvm:", () => {
    assert.deepEqual(errors(HEAD + "steps:\n  - pkvm_unmap: { iova: 0, size: 4K }\n"), [
      "7: Step pkvm_unmap needs the hypervisor declared",
    ]);
  });
  await t.step("last before start", () => {
    const steps = "steps:\n  - pkvm_invalidate: { start: 0x2000, last: 0x1fff }\n";
    assert.deepEqual(errors(HEAD + "pkvm: { iommus: [smmu0] }\n" + steps), [
      "8: Invalid pkvm_invalidate: last is before start",
    ]);
  });
});

Deno.test("pkvm_invalidate with no level WARNs, as armv8_compute_ttl() does", () => {
  const text = HEAD + "pkvm: { iommus: [smmu0] }\nsteps:\n" +
    "  - pkvm_invalidate: { start: 0x1000, last: 0x1fff }\n";
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  const res = runScenario(r.scenarios[0]);
  assert.equal(res.steps[0].status, "fail");
  assert.ok(res.steps[0].events.some((e) => e.kind === "warn" && e.fn === "armv8_compute_ttl"));
});
