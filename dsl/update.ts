/**
 * `--update`: rewrites the command lists of failing steps with what the model emitted.
 * The edit is surgical: only the lines of the rewritten list change; lines that matched are
 * copied byte for byte (with their comments, wildcards and captures), other comments stay.
 * @module
 */

import { isSeq, LineCounter, parseAllDocuments, type YAMLSeq } from "yaml";
import { CODECS, formatAny } from "./codecs.ts";
import { fieldDefault, opFields } from "../lib/hw/codec.ts";
import { fieldFormat } from "../lib/hw/cmd_text.ts";
import type { ExpectedCmd } from "./expect.ts";
import type { CmdRecord, UpdateTarget } from "./match.ts";
import type { SpecPath } from "./types.ts";

/** One list to rewrite: its document and the target computed by matching. */
export interface UpdateRequest {
  readonly doc: number;
  readonly target: UpdateTarget;
  /** For the report: `step 3 unmap`. */
  readonly what: string;
}

/** What was changed, or why a list was left alone. */
export interface UpdateChange {
  readonly what: string;
  readonly line: number;
  readonly done: boolean;
  readonly note?: string;
}

/** The text of an actual command, keeping the expected line's `_` and `$NAME` fields. */
export function updatedLine(a: CmdRecord, e: ExpectedCmd | undefined, queues: boolean): string {
  let text = formatAny(a.family, a.cmd);
  const codec = CODECS[a.family];
  if (
    e && codec && e.pattern.op === a.cmd.op &&
    Object.values(e.pattern.fields).some((p) => p.t !== "val")
  ) {
    const parts = [a.cmd.op];
    for (const f of opFields(codec, a.cmd.op)) {
      const p = e.pattern.fields[f];
      const v = a.cmd[f] as number | bigint | boolean;
      const spec = codec.ops[a.cmd.op].fields[f];
      if (p?.t === "any") parts.push(`${f}=_`);
      else if (p?.t === "cap") parts.push(`${f}=$${p.name}`);
      else if (v !== fieldDefault(codec, a.cmd.op, f) && !spec.free) {
        parts.push(
          spec.kind === "flag" && v === true ? f : `${f}=${fieldFormat(codec, a.cmd.op, f, v)}`,
        );
      }
    }
    text = parts.join(" ");
  }
  return queues ? `${a.queue}: ${text}` : text;
}

/** One item of a rewritten list: a kept source item, or new text replacing item `was`. */
type Planned = { keep?: number; text?: string; was?: number };

/**
 * The expected line whose `_` / `$NAME` fields a new actual command should reuse: the line
 * it replaces, else the nearest earlier matched line of the same opcode whose captures the
 * new command agrees with.
 */
function templateFor(t: UpdateTarget, i: number): ExpectedCmd | undefined {
  const o = t.ops[i] as { a: number };
  const prev = t.ops[i - 1];
  if (prev?.kind === "del") return t.expected[prev.e];
  const a = t.actual[o.a];
  for (let j = i - 1; j >= 0; j--) {
    const s = t.ops[j];
    if (s.kind !== "same" || t.expected[s.e].pattern.op !== a.cmd.op) continue;
    const e = t.expected[s.e];
    const agrees = Object.entries(e.pattern.fields).every(([f, p]) =>
      p.t !== "cap" || t.actual[s.a].cmd[f] === a.cmd[f]
    );
    return agrees ? e : undefined;
  }
  return undefined;
}

/** The new items of a list: matched lines keep their source, others are regenerated. */
function newItems(t: UpdateTarget): Planned[] {
  const out: Planned[] = [];
  for (let i = 0; i < t.ops.length; i++) {
    const o = t.ops[i];
    if (o.kind === "same") out.push({ keep: o.e });
    else if (o.kind === "add") {
      const prev = t.ops[i - 1];
      const was = prev?.kind === "del" ? prev.e : undefined;
      out.push({ text: updatedLine(t.actual[o.a], templateFor(t, i), t.queues), was });
    }
  }
  return out;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const i = text.indexOf("\n", offset);
  return i < 0 ? text.length : i;
}

/** Rewrites one block or flow sequence; returns the new text. */
function rewriteSeq(text: string, seq: YAMLSeq, t: UpdateTarget): string {
  const items = seq.items as { range?: [number, number, number] }[];
  const plan = newItems(t);
  if (seq.flow || items.length === 0) {
    const [a, b] = seq.range!;
    const src = (i: number) => text.slice(items[i].range![0], items[i].range![1]);
    const parts = plan.map((p) => (p.keep !== undefined ? src(p.keep) : flowScalar(p.text!)));
    const indent = " ".repeat(a - lineStart(text, a));
    if (parts.length === 0) return text.slice(0, a) + "[]" + text.slice(b);
    if (seq.flow) return text.slice(0, a) + `[${parts.join(", ")}]` + text.slice(b);
    return text.slice(0, a) + "\n" + parts.map((p) => `${indent}  - ${p}`).join("\n") +
      text.slice(b);
  }
  // Block sequence: work on whole lines, from the first item's line to the last item's.
  const first = lineStart(text, items[0].range![0]);
  const last = lineEnd(text, items[items.length - 1].range![1] - 1);
  const dash = text.lastIndexOf("-", items[0].range![0]);
  const indent = text.slice(first, dash);
  const itemLines = items.map((
    it,
  ) => [lineStart(text, it.range![0]), lineEnd(text, it.range![1] - 1)]);
  // Own-line comments between items travel with the item before them.
  const tails = itemLines.map(([, end], i) => {
    const next = i + 1 < itemLines.length ? itemLines[i + 1][0] : last + 1;
    return text.slice(end, Math.max(end, next - 1));
  });
  // A replaced line keeps its trailing comment (command text never holds " #").
  const comment = (i: number) =>
    /\s+#[^"']*$/.exec(text.slice(items[i].range![0], itemLines[i][1]))?.[0] ?? "";
  const out: string[] = [];
  for (const p of plan) {
    if (p.keep !== undefined) {
      const [s, e] = itemLines[p.keep];
      out.push(text.slice(s, e) + tails[p.keep]);
    } else {
      const tail = p.was === undefined ? "" : comment(p.was) + tails[p.was];
      out.push(`${indent}- ${blockScalar(p.text!)}${tail}`);
    }
  }
  if (out.length === 0) {
    // An empty block list becomes [] on the key's line.
    const keyEnd = text.lastIndexOf(":", first - 1) + 1;
    return text.slice(0, keyEnd) + " []" + text.slice(last);
  }
  return text.slice(0, first) + out.join("\n") + text.slice(last);
}

function needsQuotes(s: string): boolean {
  return /^[-?:,\[\]{}#&*!|>'"%@`]|: | #|^\s|\s$/.test(s);
}

function blockScalar(s: string): string {
  const colon = s.indexOf(": ");
  if (colon > 0 && /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s.slice(0, colon))) {
    // `queue: command` is a one-key map: only the command may need quotes.
    const cmd = s.slice(colon + 2);
    return `${s.slice(0, colon)}: ${needsQuotes(cmd) ? JSON.stringify(cmd) : cmd}`;
  }
  return needsQuotes(s) ? JSON.stringify(s) : s;
}

function flowScalar(s: string): string {
  const b = blockScalar(s);
  return b.includes(": ") ? `{ ${b} }` : b;
}

/** Applies update requests to one file's text. Requests for the same list must agree. */
export function applyUpdates(
  text: string,
  reqs: readonly UpdateRequest[],
): { text: string; changes: UpdateChange[] } {
  const changes: UpdateChange[] = [];
  const byList = new Map<string, UpdateRequest[]>();
  for (const r of reqs) {
    const k = `${r.doc}:${JSON.stringify(r.target.path)}`;
    byList.set(k, [...(byList.get(k) ?? []), r]);
  }
  // Rewrite from the end of the file so earlier offsets stay valid.
  const plans: { offset: number; apply: (t: string) => string; change: UpdateChange }[] = [];
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, intAsBigInt: true });
  for (const group of byList.values()) {
    const doc = Array.isArray(docs) ? docs[group[0].doc] : undefined;
    const seq = doc?.getIn(group[0].target.path as SpecPath, true);
    const line = seq && isSeq(seq) && seq.range ? lc.linePos(seq.range[0]).line : 0;
    const lines = (t: UpdateTarget) =>
      t.actual.map((a) => updatedLine(a, undefined, t.queues)).join("\n");
    const r = group.find((g) => g.target.failed) ?? group[0];
    if (group.some((g) => lines(g.target) !== lines(r.target))) {
      changes.push({
        what: r.what,
        line,
        done: false,
        note: "matrix cells emit different commands here; split the expectation with when: blocks",
      });
      continue;
    }
    if (!seq || !isSeq(seq) || !seq.range) {
      changes.push({
        what: r.what,
        line,
        done: false,
        note: "the expected list is not a YAML list",
      });
      continue;
    }
    plans.push({
      offset: seq.range[0],
      apply: (t) => rewriteSeq(t, seq, r.target),
      change: { what: r.what, line, done: true },
    });
  }
  plans.sort((a, b) => b.offset - a.offset);
  for (const p of plans) {
    text = p.apply(text);
    changes.push(p.change);
  }
  changes.sort((a, b) => a.line - b.line);
  return { text, changes };
}
