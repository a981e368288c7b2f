/**
 * The result of a run as reporters read it, the summary line, and the exit code.
 * @module
 */

import type { Diagnostic } from "./types.ts";
import type { ScenarioResult } from "./suite.ts";

/** Everything a reporter needs. */
export interface RunReport {
  /** Every scenario that ran (or was skipped). */
  readonly scenarios: readonly ScenarioResult[];
  /** Spec errors, by position. */
  readonly specErrors: readonly Diagnostic[];
  /** File → text, for code frames. */
  readonly sources: ReadonlyMap<string, string>;
  /** Whether `only:` narrowed the run (which must not pass CI). */
  readonly focused: boolean;
}

/** Counts for the summary line. */
export interface Counts {
  /** Passed and expected failures. */
  readonly passed: number;
  /** Failures, XPASS, internal errors, files with spec errors. */
  readonly failed: number;
  /** Skipped scenarios. */
  readonly skipped: number;
}

/** Passed counts pass and expected failures; failed counts failures, XPASS, internal errors
 * and every file with spec errors. */
export function countResults(r: RunReport): Counts {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const s of r.scenarios) {
    if (s.status === "pass" || s.status === "xfail") passed++;
    else if (s.status === "skip") skipped++;
    else failed++;
  }
  failed += new Set(r.specErrors.map((d) => d.range?.file ?? "")).size;
  return { passed, failed, skipped };
}

/** `N passed, N failed[, N skipped]`: always the last line of a run. */
export function summaryLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed` + (c.skipped ? `, ${c.skipped} skipped` : "");
}

/** Exit codes of DESIGN.md. */
export const EXIT = { ok: 0, fail: 1, spec: 2, internal: 3, usage: 4 } as const;

/** 3 if a model crashed, else 2 on spec errors, else 1 on failures or `only:`, else 0. */
export function exitCode(r: RunReport): number {
  if (r.scenarios.some((s) => s.status === "error")) return EXIT.internal;
  if (r.specErrors.length) return EXIT.spec;
  if (r.scenarios.some((s) => s.status === "fail" || s.status === "xpass")) return EXIT.fail;
  return r.focused ? EXIT.fail : EXIT.ok;
}

/** The first line of a scenario's spec, for reporters that give a line. */
export function scenarioLine(s: ScenarioResult): number {
  return s.scenario.spec.locator.at(["name"]).start.line;
}
