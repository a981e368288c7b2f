/**
 * TAP version 14: one test point per scenario; failures carry a YAML diagnostic block
 * (message, where, the diff). Skips are `# SKIP`, expected failures `# TODO`.
 * @module
 */

import { renderDiagnostic } from "../frame.ts";
import type { RunReport } from "../report.ts";
import type { Diagnostic } from "../types.ts";

function yamlBlock(diags: readonly Diagnostic[], r: RunReport, indent: string): string[] {
  if (!diags.length) return [];
  const d = diags[0];
  const at = d.range ? `${d.range.file}:${d.range.start.line}:${d.range.start.col}` : "";
  const body = diags.flatMap((x) => renderDiagnostic(x, r.sources));
  return [
    `${indent}---`,
    `${indent}message: ${JSON.stringify(d.title)}`,
    ...(at ? [`${indent}at: ${JSON.stringify(at)}`] : []),
    `${indent}detail: |`,
    ...body.map((l) => `${indent}  ${l}`),
    `${indent}...`,
  ];
}

/** Renders the run as TAP 14. */
export function tap(r: RunReport): string {
  const out = ["TAP version 14"];
  const files = [...new Set(r.specErrors.map((d) => d.range?.file ?? "?"))];
  out.push(`1..${r.scenarios.length + files.length}`);
  let n = 0;
  for (const f of files) {
    out.push(`not ok ${++n} - ${f} (spec error)`);
    out.push(...yamlBlock(r.specErrors.filter((d) => (d.range?.file ?? "?") === f), r, "  "));
  }
  for (const s of r.scenarios) {
    const name = s.scenario.fullName.replaceAll("#", "\\#");
    const failures = [...s.steps.flatMap((st) => st.failures), ...s.errors];
    switch (s.status) {
      case "pass":
        out.push(`ok ${++n} - ${name}`);
        break;
      case "skip":
        out.push(`ok ${++n} - ${name} # SKIP ${s.reason}`);
        break;
      case "xfail":
        out.push(`not ok ${++n} - ${name} # TODO ${s.reason}`);
        break;
      case "xpass":
        out.push(`not ok ${++n} - ${name}`);
        out.push(
          "  ---",
          `  message: ${JSON.stringify(`XPASS: marked xfail "${s.reason}" but passed`)}`,
          "  ...",
        );
        break;
      default:
        out.push(`not ok ${++n} - ${name}`);
        out.push(...yamlBlock(failures, r, "  "));
    }
  }
  return out.join("\n");
}
