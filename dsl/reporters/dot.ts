/**
 * One character per scenario (`.` pass, `F` fail, `E` error, `S` skip, `x` expected
 * failure), then the failures in full.
 * @module
 */

import { NO_PAINT, renderDiagnostic } from "../frame.ts";
import type { RunReport } from "../report.ts";
import type { ReporterOptions } from "./pretty.ts";

const CH = { pass: ".", fail: "F", error: "E", skip: "S", xfail: "x", xpass: "X" } as const;

/** Renders the run as dots. */
export function dot(r: RunReport, opts: ReporterOptions = {}): string {
  const p = opts.paint ?? NO_PAINT;
  const out: string[] = [];
  for (const d of r.specErrors) out.push(...renderDiagnostic(d, r.sources, p), "");
  out.push(r.scenarios.map((s) => CH[s.status]).join(""));
  for (const s of r.scenarios) {
    if (s.status !== "fail" && s.status !== "error" && s.status !== "xpass") continue;
    out.push("", p.bold(s.scenario.fullName));
    if (s.status === "xpass") out.push(`  XPASS: marked xfail "${s.reason}" but passed`);
    for (const st of s.steps) {
      for (const f of st.failures) out.push(...renderDiagnostic(f, r.sources, p));
    }
    for (const e of s.errors) out.push(...renderDiagnostic(e, r.sources, p));
  }
  return out.join("\n");
}
