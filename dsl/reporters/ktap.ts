/**
 * KTAP version 1, as kunit.py and kselftest consumers read it: each scenario is a subtest
 * with one test per step; directives SKIP, XFAIL and ERROR; diagnostics as `#` lines.
 * @module
 */

import { renderDiagnostic } from "../frame.ts";
import type { RunReport } from "../report.ts";

function clean(s: string): string {
  return s.replaceAll("#", "").replace(/\s+/g, " ").trim();
}

/** Renders the run as KTAP. */
export function ktap(r: RunReport): string {
  const out = ["KTAP version 1"];
  const files = [...new Set(r.specErrors.map((d) => d.range?.file ?? "?"))];
  out.push(`1..${r.scenarios.length + files.length}`);
  let n = 0;
  for (const f of files) {
    for (const d of r.specErrors.filter((x) => (x.range?.file ?? "?") === f)) {
      for (const l of renderDiagnostic(d, r.sources)) out.push(`# ${l}`);
    }
    out.push(`not ok ${++n} ${clean(f)} # ERROR spec error`);
  }
  for (const s of r.scenarios) {
    const name = clean(s.scenario.fullName);
    if (s.status === "skip") {
      out.push(`ok ${++n} ${name} # SKIP ${clean(s.reason ?? "")}`);
      continue;
    }
    out.push("  KTAP version 1", `  # Subtest: ${name}`, `  1..${s.scenario.spec.steps.length}`);
    s.steps.forEach((st, i) => {
      const title = clean(st.step.verb + (st.step.label ? ` (${st.step.label})` : ""));
      if (st.status === "pass") {
        out.push(`  ok ${i + 1} ${title}`);
        return;
      }
      for (const f of st.failures) {
        for (const l of renderDiagnostic(f, r.sources)) out.push(`  # ${l}`);
      }
      out.push(`  not ok ${i + 1} ${title}`);
    });
    for (const e of s.errors) for (const l of renderDiagnostic(e, r.sources)) out.push(`  # ${l}`);
    const dir = s.status === "xfail"
      ? ` # XFAIL ${clean(s.reason ?? "")}`
      : s.status === "error"
      ? " # ERROR internal error"
      : "";
    const ok = s.status === "pass" || s.status === "xfail";
    if (s.status === "xpass") {
      out.push(`# XPASS: marked xfail "${clean(s.reason ?? "")}" but passed`);
    }
    out.push(`${ok ? "ok" : "not ok"} ${++n} ${name}${dir}`);
  }
  return out.join("\n");
}
