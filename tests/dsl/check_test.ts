import assert from "node:assert/strict";
import fc from "fast-check";
import { renderDiagnostic } from "../../dsl/frame.ts";
import { loadSuite, runScenario } from "../../dsl/suite.ts";
import { PROPERTY_SETTINGS } from "../arbitraries.ts";
import {
  arbScenario,
  arbVtdScenario,
  randomSpec,
  randomVtdSpec,
  runChecked,
} from "./_random_scenarios.ts";

Deno.test("checkStep() never fires on random mainline scenarios (at least 10,000 steps)", () => {
  let steps = 0;
  fc.assert(
    fc.property(arbScenario, (s) => {
      const r = runChecked(randomSpec(s));
      steps += r.steps;
      assert.deepEqual(r.findings.map((f) => f.what), []);
    }),
    PROPERTY_SETTINGS,
  );
  assert.ok(steps >= 10_000, `only ${steps} steps`);
});

// The same generator must find each fault: fc.check stops at the first failing scenario.
const FAULTS = [
  { name: "v9 (PASIDs of one SID collapse)", opts: { variant: "v9" } },
  { name: "detach_no_tag_flush", opts: { inject: ["detach_no_tag_flush"] } },
  { name: "iotlb_sync_no_tlbi", opts: { inject: ["iotlb_sync_no_tlbi"] } },
] as const;

Deno.test("checkStep() finds each injected fault in the same random scenarios", async (t) => {
  for (const f of FAULTS) {
    await t.step(f.name, () => {
      const r = fc.check(
        fc.property(arbScenario, (s) => runChecked(randomSpec(s, f.opts)).findings.length === 0),
        { ...PROPERTY_SETTINGS, numRuns: 2000, endOnFailure: true },
      );
      assert.ok(r.failed, `${f.name} was not found in ${r.numRuns} scenarios`);
    });
  }
});

Deno.test("checkStep() never fires on random CT-4 VT-d scenarios (at least 10,000 steps)", () => {
  let steps = 0;
  fc.assert(
    fc.property(arbVtdScenario, (s) => {
      const r = runChecked(randomVtdSpec(s));
      steps += r.steps;
      assert.deepEqual(r.findings.map((f) => f.what), []);
    }),
    PROPERTY_SETTINGS,
  );
  assert.ok(steps >= 10_000, `only ${steps} steps`);
});

// CT-1 tears a PASID entry down without the device-TLB flush under caching mode
// (examples/oracle/vtd_cm_teardown.inv.yaml): the same generator must find it.
Deno.test("checkStep() finds the CT-1 caching-mode teardown in random VT-d scenarios", () => {
  const r = fc.check(
    fc.property(
      arbVtdScenario,
      (s) =>
        runChecked(randomVtdSpec(s, { variant: "CT-1" })).findings
          .length === 0,
    ),
    { ...PROPERTY_SETTINGS, numRuns: 2000, endOnFailure: true },
  );
  assert.ok(r.failed, `CT-1 was not found in ${r.numRuns} scenarios`);
  assert.equal(r.counterexample?.[0].cachingMode, true);
});

const SPEC = `
invspec: 1
name: unmap without TLBI
inject: { arm-smmu-v3: [iotlb_sync_no_tlbi] }
iommus:
  smmu0: { kind: smmuv3, features: [range_inv] }
devices:
  dev0: { iommu: smmu0, sids: [0x20] }
domains:
  d1: { stage: s1, asid: 1 }
steps:
  - attach: { device: dev0, domain: d1 }
  - map: { domain: d1, iova: 0x40000, size: 4K, pa: 0x80040000 }
  - dma: { device: dev0, iova: 0x40000 }
  - unmap: { domain: d1, iova: 0x40000, size: 4K }
  - dma: { device: dev0, iova: 0x40000 }
`;

function run(text: string) {
  const loaded = loadSuite([{ file: "t.inv.yaml", text }]);
  assert.deepEqual(loaded.specErrors, []);
  const r = runScenario(loaded.scenarios[0]);
  const lines = r.steps.flatMap((s) =>
    s.failures.flatMap((d) => renderDiagnostic(d, loaded.sources))
  );
  return { r, lines };
}

Deno.test("matchStepChecked() fails the step that made an entry stale, and only that one", () => {
  const { r, lines } = run(SPEC);
  assert.deepEqual(r.steps.map((s) => s.status), ["pass", "pass", "pass", "fail", "pass"]);
  assert.deepEqual(lines, [
    "fail: Step 4 unmap: IOTLB of smmu0 (S1 asid 1 vmid 0) still maps 0x40000 → 0x80040000, stale since step 4 unmap",
    "  --> t.inv.yaml:15:5",
    "   |",
    "14 |   - dma: { device: dev0, iova: 0x40000 }",
    "15 |   - unmap: { domain: d1, iova: 0x40000, size: 4K }",
    "   |     ^^^^^ stale translation after this step",
    "   the page table maps nothing there now",
    '   = TLBI_NH_VA asid=1 addr=0x40000 leaf would remove it; if it is expected: expect: { stale: ["IOTLB smmu0 asid=1 vmid=0 iova=0x40000"] }',
  ]);
});

Deno.test("matchStepChecked() accepts a pinned finding and check: off turns the check off", () => {
  const pinned = SPEC.replace(
    "  - unmap: { domain: d1, iova: 0x40000, size: 4K }",
    "  - unmap: { domain: d1, iova: 0x40000, size: 4K }\n    expect: { stale: [IOTLB smmu0 iova=0x40000] }",
  );
  assert.equal(run(pinned).r.status, "pass");
  assert.equal(run(SPEC.replace("invspec: 1", "invspec: 1\ncheck: off")).r.status, "pass");
});

Deno.test("the stale expectation fails on a finding it does not list and on a line nothing matches", () => {
  const wrong = SPEC.replace(
    "  - unmap: { domain: d1, iova: 0x40000, size: 4K }",
    "  - unmap: { domain: d1, iova: 0x40000, size: 4K }\n    expect: { stale: [IOTLB smmu0 iova=0x41000] }",
  );
  const { r, lines } = run(wrong);
  assert.equal(r.status, "fail");
  const titles = lines.filter((l) => l.startsWith("fail: "));
  assert.deepEqual(titles, [
    "fail: Step 4 unmap: the check did not find this stale entry",
    "fail: Step 4 unmap: stale: does not list what the check found: IOTLB of smmu0 (S1 asid 1 vmid 0) still maps 0x40000 → 0x80040000",
  ]);
});

Deno.test("matchStepChecked() passes commands that end with their CMD_SYNC", () => {
  const text = `
invspec: 1
name: raw commands
iommus:
  smmu0: { kind: smmuv3, features: [range_inv] }
steps:
  - tlbi_range: { iommu: smmu0, cmd: "TLBI_NH_VA asid=1 leaf", iova: 0x40000, size: 8K }
`;
  const { r } = run(text);
  assert.equal(r.status, "pass", "tlbi_range submits with a SYNC");
  assert.equal(r.steps[0].commands.at(-1)?.cmd.op, "CMD_SYNC");
});
