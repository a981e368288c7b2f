// Tests of dsl/areas/sva.ts: load-time checks of processes and SVA steps, the `sva:`
// expectation, and outcomes of the SVA verbs.
import assert from "node:assert/strict";
import { loadSuite, runScenario, type ScenarioResult } from "../../../dsl/suite.ts";

const HEAD = `invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3, features: [sva] }
  dmar0: { kind: vtd }
devices:
  m: { iommu: smmu0, sids: [0x10], pasid_bits: 4 }
  v: { iommu: dmar0, sid: 0x300, pasid_bits: 20 }
processes:
  p1: {}
`;

function errors(text: string): string[] {
  return loadSuite([{ file: "t.inv.yaml", text }]).specErrors.map((d) =>
    `${d.range?.start.line}: ${d.title}${d.label ? ` (${d.label})` : ""}`
  );
}

function run(text: string): ScenarioResult {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  assert.deepEqual(r.specErrors.map((d) => d.title), []);
  const res = runScenario(r.scenarios[0]);
  assert.deepEqual(res.errors.map((d) => d.title), []);
  return res;
}

// Each row: steps the area must refuse at load time, and the errors as `line: title`.
const ROWS: readonly { name: string; steps: string; errors: string[] }[] = [
  {
    name: "an undeclared process, with did-you-mean",
    steps: "  - bind: { device: m, process: p2 }\n",
    errors: ['12: No process named "p2" (did you mean "p1"?)'],
  },
  {
    name: "binding a process after it exited",
    steps: "  - mm_release: { process: p1 }\n  - bind: { device: v, process: p1 }\n",
    errors: ['13: Process "p1" has exited (mm_release) and cannot be bound'],
  },
  {
    name: "an empty or reversed range",
    steps: "  - mm_invalidate: { process: p1, start: 0x2000, end: 0x2000 }\n" +
      "  - kernel_pt_free: { start: 0x2000, end: 0x1000 }\n",
    errors: [
      "12: Invalid mm_invalidate: end is not after start",
      "13: Invalid kernel_pt_free: end is not after start",
    ],
  },
  {
    name: "an unknown key in sva:",
    steps: "  - run_deferred: {}\n    expect: { sva: { pending: 0, presnt: true } }\n",
    errors: ['13: Cannot read sva: unknown key "presnt" (did you mean "present"?)'],
  },
  {
    name: "an undeclared process in sva:",
    steps: "  - run_deferred: {}\n    expect: { sva: { mms: [p9], pasid: { p8: 1 } } }\n",
    errors: [
      '13: No process named "p9" (did you mean "p1"?)',
      '13: No process named "p8" (did you mean "p1"?)',
    ],
  },
];

Deno.test("the SVA area refuses bad process references and ranges at load time", async (t) => {
  for (const r of ROWS) {
    await t.step(r.name, () => assert.deepEqual(errors(HEAD + "steps:\n" + r.steps), r.errors));
  }
});

Deno.test("bind returns the model's errno", () => {
  // A master without PASID bits has no PASID to give (iommu_alloc_global_pasid(): -ENOSPC).
  const text = HEAD.replace("processes:", "  np: { iommu: smmu0, sids: [0x18] }\nprocesses:") +
    "steps:\n  - bind: { device: np, process: p1 }\n    expect: { returns: ENOSPC }\n";
  assert.equal(run(text).status, "pass");
});

Deno.test("sva: reports the state that differs", () => {
  const res = run(
    HEAD + `steps:
  - bind: { device: v, process: p1 }
    expect: { sva: { present: true, mms: [p1], pasid: { p1: 1 } } }
  - bind: { device: m, process: p1 }
    expect: { returns: 0, sva: { mms: [p1] } }
  - unbind: { device: m, process: p1 }
  - unbind: { device: v, process: p1 }
    expect: { sva: { present: true } }
`,
  );
  assert.deepEqual(res.steps.map((s) => s.status), ["pass", "pass", "pass", "fail"]);
  assert.deepEqual(res.steps[3].failures.map((f) => f.title), [
    "Step 4 unbind: sva.present is false, expected true",
  ]);
});

Deno.test("unbind of a device that is not bound is a WARN", () => {
  const res = run(HEAD + "steps:\n  - unbind: { device: m, process: p1 }\n");
  assert.equal(res.steps[0].status, "fail");
  assert.ok(
    res.steps[0].events.some((e) => e.kind === "warn" && e.fn === "iommu_sva_unbind_device"),
  );
});

Deno.test("kernel_pt_free and run_deferred follow the architecture of the IOMMUs", () => {
  // VT-d present: x86-64, the free is deferred to the work item.
  const x86 = run(HEAD + "steps:\n  - kernel_pt_free: {}\n    expect: { sva: { pending: 1 } }\n");
  assert.equal(x86.status, "pass");
  // SMMUv3 only: arm64, freed at once.
  const arm = run(
    HEAD.replace("  dmar0: { kind: vtd }\n", "").replace(/ {2}v: .*\n/, "") +
      "steps:\n  - kernel_pt_free: {}\n    expect: { sva: { pending: 0, freed_pages: 1 } }\n",
  );
  assert.equal(arm.status, "pass");
});
