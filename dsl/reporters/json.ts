/**
 * Machine-readable results: every scenario and step with its status, the actual commands
 * in canonical text, return values, events and failures with positions.
 * @module
 */

import { formatAny } from "../codecs.ts";
import { countResults, type RunReport } from "../report.ts";
import type { Diagnostic } from "../types.ts";
import { eventLine } from "./pretty.ts";

function diag(d: Diagnostic) {
  return {
    severity: d.severity,
    title: d.title,
    at: d.range ? `${d.range.file}:${d.range.start.line}:${d.range.start.col}` : null,
    label: d.label ?? null,
    detail: d.detail ?? [],
  };
}

/** Renders the run as one JSON document. */
export function json(r: RunReport): string {
  const doc = {
    invspec: 1,
    summary: countResults(r),
    specErrors: r.specErrors.map(diag),
    scenarios: r.scenarios.map((s) => {
      const queues = Object.keys(s.scenario.spec.head.iommus).length > 1;
      return {
        file: s.scenario.spec.file,
        name: s.scenario.spec.head.name,
        cell: s.scenario.cell.values,
        status: s.status,
        reason: s.reason ?? null,
        steps: s.steps.map((st) => ({
          index: st.step.index + 1,
          verb: st.step.verb,
          title: st.title,
          line: s.scenario.spec.locator.at(st.step.path).start.line,
          status: st.status,
          returns: st.outcome.returns ?? 0,
          entry_num: st.outcome.entryNum ?? null,
          commands: st.commands.map((c) =>
            (queues ? `${c.queue}: ` : "") + formatAny(c.family, c.cmd)
          ),
          events: st.events.map((e) => eventLine(e, true)),
          failures: st.failures.map(diag),
        })),
        errors: s.errors.map(diag),
      };
    }),
  };
  return JSON.stringify(doc, (_k, v) => typeof v === "bigint" ? "0x" + v.toString(16) : v, 2);
}
