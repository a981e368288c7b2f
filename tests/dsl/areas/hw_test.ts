import assert from "node:assert/strict";
import { hwRefreshMemory } from "../../../dsl/areas/hw.ts";
import { buildWorld } from "../../../dsl/build.ts";
import { loadSuite, runScenario } from "../../../dsl/suite.ts";

const HEAD = `invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3, features: [range_inv, ats] }
devices:
  nic0: { iommu: smmu0, sids: [0x10, 0x11], ats: true, pasid_bits: 4 }
  dev1: { iommu: smmu0, sids: [0x20] }
domains:
  d1: { stage: s1, asid: 1 }
  s2: { stage: s2, vmid: 3 }
`;

function run(steps: string) {
  const loaded = loadSuite([{ file: "t.inv.yaml", text: HEAD + "steps:\n" + steps }]);
  assert.deepEqual(loaded.specErrors.map((d) => d.title), []);
  const r = runScenario(loaded.scenarios[0]);
  assert.deepEqual(r.errors, []);
  return r;
}

function errors(text: string): string[] {
  return loadSuite([{ file: "t.inv.yaml", text }]).specErrors.map((d) =>
    `${d.range?.start.line}: ${d.title}`
  );
}

const values = (r: ReturnType<typeof run>) => r.steps.map((s) => s.outcome.values);

Deno.test("dma reports the address and where the translation came from", () => {
  const r = run(`
  - attach: { device: nic0, domain: d1 }
  - attach: { device: dev1, domain: s2 }
  - map: { domain: d1, iova: 0x40000, size: 8K, pa: 0x80040000 }
  - map: { domain: s2, iova: 0x40000, size: 4K, pa: 0x70040000 }
  - dma: { device: nic0, iova: 0x41008 }
  - dma: { device: nic0, iova: 0x41000, write: true }
  - dma: { device: dev1, iova: 0x40000 }
  - dma: { device: dev1, iova: 0x40000 }
  - dma: { device: dev1, iova: 0x41000 }
  - dma: { device: nic0, iova: 0x41000, pasid: 3 }
`);
  assert.equal(r.status, "pass");
  assert.deepEqual(values(r).slice(4), [
    { pa: 0x80041008n, fault: null, from: "walk" },
    { pa: 0x80041000n, fault: null, from: "atc" },
    { pa: 0x70040000n, fault: null, from: "walk" },
    { pa: 0x70040000n, fault: null, from: "iotlb" },
    { pa: null, fault: "F_TRANSLATION", from: null },
    // PASID 3 has no CD: its Translation Request is refused.
    { pa: null, fault: "C_BAD_CD", from: null },
  ]);
  const traces = r.steps[4].events.filter((e) => e.kind === "trace" && e.name === "dma");
  assert.deepEqual(traces, [{
    kind: "trace",
    name: "dma",
    data: { device: "nic0", iova: 0x41008n, pa: 0x80041008n, from: "walk" },
  }]);
});

Deno.test("dma of a device never attached hits its abort STE", () => {
  const r = run("  - dma: { device: dev1, iova: 0x1000 }\n");
  assert.deepEqual(values(r), [{ pa: null, fault: "STE_ABORT", from: null }]);
});

Deno.test("the World's hardware: ATS functions per StreamID, and the SMMU's memory view", () => {
  const loaded = loadSuite([{ file: "t.inv.yaml", text: HEAD + "steps: []\n" }]);
  const { spec, cell } = loaded.scenarios[0];
  const world = buildWorld(spec, cell);
  const hw = world.hw!;
  assert.deepEqual(Object.keys(hw.endpoints), ["nic0"], "dev1 has no ATS capability");
  const inst = world.iommus.smmu0;
  assert.ok(inst.kind === "smmuv3");
  const smmu = inst.smmu;
  assert.equal(smmu.hw.endpoints.get(0x10), hw.endpoints.nic0);
  assert.equal(smmu.hw.endpoints.get(0x11), hw.endpoints.nic0);
  assert.equal(smmu.hw.mem?.strtab, world.smmuv3!.instances.get("smmu0")!.strtab);
  assert.equal(smmu.hw.mem?.cdTables.length, 2);
  // Domains get their table base at finalise (first attach); the view is refreshed on use.
  assert.equal(hw.pgtables.size, 0);
  hwRefreshMemory(world);
  assert.equal(hw.pgtables.size, 0);
  const d1 = world.smmuv3!.domains.get("d1");
  assert.ok(d1?.type === "paging" && d1.s1 === null);
});

Deno.test("dma: load-time checks name the argument", () => {
  assert.deepEqual(errors(HEAD + "steps:\n  - dma: { device: nic0, iova: 0x1000, pasid: 0 }\n"), [
    "12: PASID 0 is the RID's address space",
  ]);
  const off = HEAD.replace("name: t", "name: t\ncheck: off") +
    "steps:\n  - dma: { device: nic0, iova: 0x1000 }\n    expect: { stale: [] }\n";
  assert.deepEqual(errors(off), ["14: Cannot expect stale entries with check: off"]);
});

Deno.test("dma: a device behind a VT-d unit is accepted (hw_vtd_test.ts runs it)", () => {
  const text = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd }
devices:
  dev0: { iommu: dmar0, sid: 0x0300 }
domains:
  D: { did: 5 }
steps:
  - dma: { device: dev0, iova: 0x1000 }
`;
  assert.deepEqual(errors(text), []);
});
