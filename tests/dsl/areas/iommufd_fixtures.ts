/**
 * Shared scenarios and helpers of the iommufd area tests: the selftest and ARM setups of the
 * kernel selftest and of iommufd.md §7.6 as YAML heads, and one-call helpers that load a
 * spec (returning its spec errors) or run it (returning each step's outcome).
 * @module
 */

import type { StepOutcome } from "../../../dsl/world.ts";
import { loadSuite, runScenario, type ScenarioResult } from "../../../dsl/suite.ts";

/** A selftest scenario: mock device, nest parent, nested HWPT, vIOMMU with vDEVICE 0x99. */
export const SELFTEST_HEAD = `invspec: 1
name: t
iommufd:
  ioas: { type: ioas }
  dev: { type: device }
  parent: { type: hwpt_paging, ioas: ioas, nest_parent: true }
  nested: { type: hwpt_nested, parent: parent }
  viommu: { type: viommu, hwpt: parent, device: dev }
  vdev: { type: vdevice, viommu: viommu, device: dev, virt_id: 0x99 }
`;

/** The ARM vSMMU setup of iommufd.md §7.6 (VMID 5, vSID 0x99 -> SID 0x1234). */
export const ARM_HEAD = `invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3, features: [range_inv, ds, ats, nesting], ssid_bits: 20 }
devices:
  gpu: { iommu: smmu0, sids: [0x1234], ats: true }
domains:
  s2: { nest_parent: true, vmid: 5, iommu: smmu0 }
iommufd:
  ioas: { type: ioas }
  idev: { type: device, bind: gpu }
  parent: { type: hwpt_paging, ioas: ioas, domain: s2 }
  vsmmu: { type: viommu, hwpt: parent, device: idev }
  vdev: { type: vdevice, viommu: vsmmu, device: idev, virt_id: 0x99 }
`;

/** The spec errors of a spec text, as `line: title`. */
export function specErrorsOf(text: string): string[] {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  return r.specErrors.map((d) => `${d.range?.start.line}: ${d.title}`);
}

/** Runs every scenario of a spec text that must load; throws on spec errors. */
export function runText(text: string): ScenarioResult[] {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  if (r.specErrors.length) {
    throw new Error(r.specErrors.map((d) => `${d.range?.start.line}: ${d.title}`).join("\n"));
  }
  return r.scenarios.map((s) => runScenario(s));
}

/** The outcome of each step of a one-scenario spec (a crash is rethrown). */
export function outcomesOf(text: string): StepOutcome[] {
  const [r] = runText(text);
  if (r.errors.length) throw new Error(r.errors.map((d) => d.title).join("\n"));
  return r.steps.map((s) => s.outcome);
}
