/**
 * JUnit XML: one `<testsuite>` per spec file, one `<testcase>` per scenario with the spec
 * `file` and `line`; the failure message is the first failure's title and the body the
 * colour-free diagnostics.
 * @module
 */

import { renderDiagnostic } from "../frame.ts";
import { countResults, type RunReport, scenarioLine } from "../report.ts";
import type { ScenarioResult } from "../suite.ts";

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function classname(file: string): string {
  return file.replace(/\.inv\.ya?ml$/, "").replace(/^\.\//, "").replaceAll("/", ".");
}

function testcase(s: ScenarioResult, r: RunReport): string[] {
  const file = s.scenario.spec.file;
  const head = `    <testcase classname="${esc(classname(file))}" name="${esc(s.scenario.name)}" ` +
    `file="${esc(file)}" line="${scenarioLine(s)}"`;
  const failures = [...s.steps.flatMap((st) => st.failures), ...s.errors];
  const body = failures.flatMap((d) => renderDiagnostic(d, r.sources)).join("\n");
  switch (s.status) {
    case "pass":
    case "xfail":
      return [`${head}/>`];
    case "skip":
      return [`${head}>`, `      <skipped message="${esc(s.reason ?? "")}"/>`, "    </testcase>"];
    case "xpass":
      return [
        `${head}>`,
        `      <failure message="${
          esc(`XPASS: marked xfail "${s.reason}" but passed`)
        }" type="xpass"/>`,
        "    </testcase>",
      ];
    default: {
      const tag = s.status === "error" ? "error" : "failure";
      return [
        `${head}>`,
        `      <${tag} message="${esc(failures[0]?.title ?? s.status)}" type="${s.status}">${
          esc(body)
        }</${tag}>`,
        "    </testcase>",
      ];
    }
  }
}

/** Renders the run as JUnit XML. */
export function junit(r: RunReport): string {
  const c = countResults(r);
  const byFile = new Map<string, ScenarioResult[]>();
  for (const s of r.scenarios) {
    const list = byFile.get(s.scenario.spec.file) ?? [];
    list.push(s);
    byFile.set(s.scenario.spec.file, list);
  }
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="invspec" tests="${
      c.passed + c.failed + c.skipped
    }" failures="${c.failed}" skipped="${c.skipped}">`,
  ];
  const errFiles = new Set(r.specErrors.map((d) => d.range?.file ?? "?"));
  for (const f of errFiles) {
    const diags = r.specErrors.filter((d) => (d.range?.file ?? "?") === f);
    const body = diags.flatMap((d) => renderDiagnostic(d, r.sources)).join("\n");
    const line = diags[0]?.range?.start.line ?? 1;
    out.push(
      `  <testsuite name="${esc(f)}" tests="1" failures="0" errors="1" skipped="0">`,
      `    <testcase classname="${esc(classname(f))}" name="(spec error)" file="${
        esc(f)
      }" line="${line}">`,
      `      <error message="${esc(diags[0]?.title ?? "spec error")}" type="spec">${
        esc(body)
      }</error>`,
      "    </testcase>",
      "  </testsuite>",
    );
  }
  for (const [file, list] of byFile) {
    const failed = list.filter((s) => s.status === "fail" || s.status === "xpass").length;
    const errors = list.filter((s) => s.status === "error").length;
    const skipped = list.filter((s) => s.status === "skip").length;
    out.push(
      `  <testsuite name="${
        esc(file)
      }" tests="${list.length}" failures="${failed}" errors="${errors}" skipped="${skipped}">`,
    );
    for (const s of list) out.push(...testcase(s, r));
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n");
}
