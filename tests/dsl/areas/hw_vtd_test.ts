import assert from "node:assert/strict";
import { domainAtRoot, hwOf, hwRefreshMemory } from "../../../dsl/areas/hw.ts";
import { VTD_ROOT_BASE } from "../../../dsl/areas/hw_vtd.ts";
import { buildWorld } from "../../../dsl/build.ts";
import { loadSuite, runScenario } from "../../../dsl/suite.ts";

const HEAD = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd }
  dmar1: { kind: vtd, smts: false, pasid: false, flts: false, nest: false }
  off: { kind: vtd, translation: false }
  regs: { kind: vtd, qis: false }
devices:
  nic0: { iommu: dmar0, sid: 0x0300, ats: true, pasid_bits: 20 }
  dev1: { iommu: dmar0, sid: 0x0310 }
  leg0: { iommu: dmar1, sid: 0x0300, ats: true }
  raw0: { iommu: off, sid: 0x0100 }
  reg0: { iommu: regs, sid: 0x0100 }
domains:
  S: { level: second, did: 5, nest_parent: true }
  N: { type: nested, parent: S, did: 7 }
  F: { level: first }
  L: { level: second, did: 6 }
  R: { level: second, did: 8 }
  Q: { level: second, did: 9 }
`;

function load(steps: string) {
  const loaded = loadSuite([{ file: "t.inv.yaml", text: HEAD + "steps:\n" + steps }]);
  assert.deepEqual(loaded.specErrors.map((d) => d.title), []);
  return loaded.scenarios[0];
}

function run(steps: string) {
  const r = runScenario(load(steps));
  assert.deepEqual(r.errors, []);
  return r;
}

const values = (r: ReturnType<typeof run>) =>
  r.steps.filter((s) => s.outcome.values).map((s) => s.outcome.values);

Deno.test("buildVtdHw() gives each paging domain a table base and each unit its memory", () => {
  const sc = load("  - dma: { device: dev1, iova: 0 }\n");
  const world = buildWorld(sc.spec, sc.cell);
  const hw = hwOf(world);
  // Declaration order, parents before nested domains; N has no page table of its own.
  assert.deepEqual([...hw.vtdRoots], [
    ["S", VTD_ROOT_BASE],
    ["F", VTD_ROOT_BASE + 0x1000n],
    ["L", VTD_ROOT_BASE + 0x2000n],
    ["R", VTD_ROOT_BASE + 0x3000n],
    ["Q", VTD_ROOT_BASE + 0x4000n],
  ]);
  assert.deepEqual(Object.keys(hw.endpoints), ["nic0", "leg0"]);
  const units = world.iommus;
  assert.ok(units.dmar0.kind === "vtd" && units.dmar1.kind === "vtd");
  assert.deepEqual([...units.dmar0.iommu.hw.mem!.devices.keys()], [0x300, 0x310]);
  assert.deepEqual([...units.dmar1.iommu.hw.mem!.devices.keys()], [0x300]);
  assert.equal(units.dmar1.iommu.hw.endpoints.get(0x300), hw.endpoints.leg0);
  // Legacy mode turns ATS on only with a context entry.
  assert.equal(hw.endpoints.nic0.atsEnabled, true);
  assert.equal(hw.endpoints.leg0.atsEnabled, false);
  hwRefreshMemory(world);
  assert.equal(hw.pgtables.get(VTD_ROOT_BASE + 0x1000n), world.domains.F.pt);
  assert.equal(domainAtRoot(world, VTD_ROOT_BASE + 0x2000n), "L");
  assert.equal(domainAtRoot(world, 0x1234n), undefined);
});

Deno.test("dma from a VT-d device: walk, IOTLB, device TLB, faults", () => {
  const r = run(`
  - attach: { device: dev1, domain: L }
  - attach: { device: nic0, domain: F, pasid: 0x10 }
  - map: { domain: L, iova: 0x40000, size: 8K, pa: 0x80040000 }
  - map: { domain: F, iova: 0x40000, size: 4K, pa: 0x90040000 }
  - dma: { device: dev1, iova: 0x41008 }
  - dma: { device: dev1, iova: 0x41000, write: true }
  - dma: { device: nic0, iova: 0x40000, pasid: 0x10 }
  - dma: { device: nic0, iova: 0x40000, pasid: 0x10 }
  - dma: { device: nic0, iova: 0x40000 }
  - dma: { device: nic0, iova: 0x40000, pasid: 0x11 }
  - dma: { device: dev1, iova: 0x50000 }
`);
  assert.equal(r.status, "pass");
  assert.deepEqual(values(r), [
    { pa: 0x80041008n, fault: null, from: "walk" },
    { pa: 0x80041000n, fault: null, from: "iotlb" },
    { pa: 0x90040000n, fault: null, from: "walk" },
    { pa: 0x90040000n, fault: null, from: "devtlb" },
    // The RID of nic0 is not attached; PASID 0x11 has no entry.
    { pa: null, fault: "PASID_NOT_PRESENT", from: null },
    { pa: null, fault: "PASID_NOT_PRESENT", from: null },
    { pa: null, fault: "F_TRANSLATION", from: null },
  ]);
  const traces = r.steps[6].events.filter((e) => e.kind === "trace" && e.name === "dma");
  assert.deepEqual(traces.map((e) => e.kind === "trace" && e.data), [
    { device: "nic0", iova: 0x40000n, pasid: 0x10, pa: 0x90040000n, from: "walk" },
  ]);
});

Deno.test("dma: legacy ATS follows the context entry; a disabled unit does not translate", () => {
  const r = run(`
  - dma: { device: leg0, iova: 0x40000 }
  - attach: { device: leg0, domain: R }
  - map: { domain: R, iova: 0x40000, size: 4K, pa: 0x70040000 }
  - dma: { device: leg0, iova: 0x40000 }
  - dma: { device: leg0, iova: 0x40000 }
  - dma: { device: leg0, iova: 0x40000, pasid: 1 }
  - dma: { device: raw0, iova: 0x12345 }
  - attach: { device: reg0, domain: Q }
  - map: { domain: Q, iova: 0x40000, size: 4K, pa: 0x70040000 }
  - dma: { device: reg0, iova: 0x40000 }
`);
  assert.deepEqual(values(r), [
    { pa: null, fault: "CONTEXT_NOT_PRESENT", from: null },
    { pa: 0x70040000n, fault: null, from: "walk" },
    { pa: 0x70040000n, fault: null, from: "devtlb" },
    // With a PASID it misses the device TLB, and legacy mode refuses its Translation Request.
    { pa: null, fault: "PASID_NOT_ALLOWED", from: null },
    // Translation disabled: the address goes out as it is.
    { pa: 0x12345n, fault: null, from: "bypass" },
    // Register-based invalidation is not executed, so nothing is translated there.
    { pa: null, fault: "UNMODELLED", from: null },
  ]);
});

Deno.test("dma through a nested domain is not modelled", () => {
  const r = run(`
  - attach: { device: dev1, domain: N }
  - map: { domain: S, iova: 0x40000, size: 4K }
  - dma: { device: dev1, iova: 0x40000 }
`);
  assert.deepEqual(values(r), [{ pa: null, fault: "UNMODELLED", from: null }]);
});
