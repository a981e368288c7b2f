/**
 * Shared setups of the VT-d area tests: the two-unit scenario of vtd-sva-pkvm.md §A.7
 * (devices A and B behind dmar0, C behind dmar1, domain D with DID 5 / 7) as a YAML head,
 * and helpers that load a spec (its spec errors as `line: title`) or run a one-scenario
 * spec (its result, a crash rethrown).
 * @module
 */

import { loadSuite, runScenario, type ScenarioResult } from "../../../dsl/suite.ts";

/** The §A.7 declarations, without steps. */
export const A7_HEAD = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd }
  dmar1: { kind: vtd }
devices:
  A: { iommu: dmar0, sid: 0x0300, ats: true }
  B: { iommu: dmar0, sid: 0x0308 }
  C: { iommu: dmar1, sid: 0x8000, ats: true }
domains:
  D: { did: { dmar0: 5, dmar1: 7 } }
`;

/** One unit, one ATS endpoint `dev0` (0x0300), one second-stage domain `D` with DID 5. */
export const ONE_UNIT_HEAD = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd }
devices:
  dev0: { iommu: dmar0, sid: 0x0300, ats: true, pasid_bits: 20 }
domains:
  D: { did: 5 }
`;

/** The spec errors of a spec text, as `line: title`, in file order. */
export function vtdSpecErrors(text: string): string[] {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  return r.specErrors.map((d) => `${d.range?.start.line}: ${d.title}`);
}

/** Runs a spec text that must load and hold one scenario; a model crash is rethrown. */
export function runVtd(text: string): ScenarioResult {
  const r = loadSuite([{ file: "t.inv.yaml", text }]);
  if (r.specErrors.length) {
    throw new Error(r.specErrors.map((d) => `${d.range?.start.line}: ${d.title}`).join("\n"));
  }
  const [res] = r.scenarios.map((s) => runScenario(s));
  if (res.errors.length) throw new Error(res.errors.map((d) => d.title).join("\n"));
  return res;
}

/** The failure titles of every step of a run. */
export function failuresOf(r: ScenarioResult): string[] {
  return r.steps.flatMap((s) => s.failures.map((f) => f.title));
}
