/**
 * `invspec explain`: every command of every step with its two (or four) words and each
 * field decoded, for reading a spec without the hardware manual at hand.
 * @module
 */

import { type FieldValue, opFields } from "../lib/hw/codec.ts";
import { fieldFormat } from "../lib/hw/cmd_text.ts";
import { CODECS, encodeAny, formatAny } from "./codecs.ts";
import type { ScenarioResult } from "./suite.ts";
import { eventLine } from "./reporters/pretty.ts";

function hex64(w: bigint): string {
  return w.toString(16).padStart(16, "0");
}

/** The explanation of one scenario run, as lines. */
export function explain(r: ScenarioResult): string[] {
  const s = r.scenario;
  const out = [`${s.fullName}`];
  const queues = Object.keys(s.spec.head.iommus).length > 1;
  for (const st of r.steps) {
    const line = s.spec.locator.at(st.step.path).start.line;
    out.push(
      `  step ${st.title} (line ${line})${
        st.outcome.returns ? ` returns ${st.outcome.returns}` : ""
      }`,
    );
    if (st.events.length === 0) out.push("    (no commands)");
    for (const e of st.events) {
      if (e.kind !== "cmd") {
        out.push(`    ${eventLine(e, true)}`);
        continue;
      }
      const codec = CODECS[e.family];
      const words = codec ? encodeAny(e.family, e.cmd).map(hex64).join(" ") : "";
      out.push(`    ${queues ? e.queue + " " : ""}${words}  ${formatAny(e.family, e.cmd, true)}`);
      if (!codec) continue;
      const f = opFields(codec, e.cmd.op).map((name) => {
        const spec = codec.ops[e.cmd.op].fields[name];
        const v = e.cmd[name] as FieldValue;
        const shown = fieldFormat(codec, e.cmd.op, name, v);
        const raw = typeof v === "boolean" ? (v ? "1" : "0") : String(v);
        const pos = spec.hi === spec.lo
          ? `${spec.word}[${spec.lo}]`
          : `${spec.word}[${spec.hi}:${spec.lo}]`;
        return `${name}@w${pos}=${shown}${spec.kind === "enum" && shown !== raw ? `(${raw})` : ""}`;
      });
      out.push(`      opcode=0x${codec.ops[e.cmd.op].code.toString(16)} ${f.join(" ")}`);
    }
    for (const f of st.failures) out.push(`    ✗ ${f.title}`);
  }
  for (const e of r.errors) out.push(`  ✗ ${e.title}`);
  return out;
}
