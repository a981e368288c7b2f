/**
 * The human reporter: one line per scenario grouped by file, failures with code frames and
 * diffs, and with `trace` every event of every step.
 * @module
 */

import type { Event } from "../../lib/events.ts";
import { formatAny } from "../codecs.ts";
import { NO_PAINT, type Paint, renderDiagnostic } from "../frame.ts";
import type { RunReport } from "../report.ts";
import type { ScenarioResult } from "../suite.ts";

/** Reporter options. */
export interface ReporterOptions {
  /** Colour hooks (no colour by default). */
  readonly paint?: Paint;
  /** Print every event of every step. */
  readonly trace?: boolean;
}

const MARK: Record<ScenarioResult["status"], string> = {
  pass: "✓",
  fail: "✗",
  error: "✗",
  skip: "-",
  xfail: "✓",
  xpass: "✗",
};

/** One line for an event in `--trace`. */
export function eventLine(e: Event, queues: boolean): string {
  switch (e.kind) {
    case "cmd":
      return (queues ? `${e.queue}: ` : "") + formatAny(e.family, e.cmd, true);
    case "warn":
      return `WARN ${e.fn}: ${e.what}`;
    case "hang":
      return `HANG ${e.fn} stopped after ${e.iterations} iterations`;
    case "trace": {
      const kv = Object.entries(e.data).map(([k, v]) =>
        `${k}=${typeof v === "bigint" ? "0x" + v.toString(16) : v}`
      );
      return `trace ${e.name}${kv.length ? " " + kv.join(" ") : ""}`;
    }
  }
}

function scenarioLines(s: ScenarioResult, p: Paint, r: RunReport, trace: boolean): string[] {
  const out: string[] = [];
  const ok = s.status === "pass" || s.status === "xfail" || s.status === "skip";
  const colour = s.status === "skip" ? p.dim : ok ? p.green : p.red;
  const note = s.status === "skip"
    ? ` (skipped: ${s.reason})`
    : s.status === "xfail"
    ? ` (expected failure: ${s.reason})`
    : s.status === "xpass"
    ? ` (XPASS: marked xfail "${s.reason}" but passed)`
    : "";
  out.push(`  ${colour(MARK[s.status])} ${s.scenario.name}${p.dim(note)}`);
  const queues = Object.keys(s.scenario.spec.head.iommus).length > 1;
  for (const st of s.steps) {
    if (trace) {
      const m = st.status === "pass" ? p.green("✓") : p.red("✗");
      out.push(`      ${m} step ${st.title}`);
      for (const e of st.events) out.push(p.dim(`          ${eventLine(e, queues)}`));
    }
    if (st.status === "fail" && s.status !== "xfail") {
      for (const f of st.failures) {
        out.push(...renderDiagnostic(f, r.sources, p).map((l) => "    " + l));
      }
    }
  }
  for (const e of s.errors) out.push(...renderDiagnostic(e, r.sources, p).map((l) => "    " + l));
  return out;
}

/** Renders the whole run (without the summary line, which the CLI prints last). */
export function pretty(r: RunReport, opts: ReporterOptions = {}): string {
  const p = opts.paint ?? NO_PAINT;
  const out: string[] = [];
  for (const d of r.specErrors) out.push(...renderDiagnostic(d, r.sources, p), "");
  let file = "";
  for (const s of r.scenarios) {
    if (s.scenario.spec.file !== file) {
      file = s.scenario.spec.file;
      out.push(p.bold(file));
    }
    out.push(...scenarioLines(s, p, r, opts.trace ?? false));
  }
  if (r.focused) {
    out.push(p.yellow("only: this run was narrowed by `only: true` and does not count as a pass"));
  }
  return out.join("\n");
}
