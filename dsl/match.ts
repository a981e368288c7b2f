/**
 * A step's events and outcome × its expectations → pass, or failures with source ranges
 * and a sequence diff. Captures (`$NAME`) bind on first use and must hold afterwards.
 * @module
 */

import type { CmdLike, FieldValue } from "../lib/hw/codec.ts";
import { fieldDefault, opFields } from "../lib/hw/codec.ts";
import { fieldFormat } from "../lib/hw/cmd_text.ts";
import type { Event, Family } from "../lib/events.ts";
import { CODECS, formatAny } from "./codecs.ts";
import { align, type AlignOp, renderAlign } from "./diff.ts";
import type { ExpectBlock, ExpectedCmd } from "./expect.ts";
import { EXPECT_KEYS } from "./areas/mod.ts";
import type { LoadedStep } from "./load.ts";
import { type Cell, whenHolds } from "./matrix.ts";
import type { Diagnostic, SourceLocator, SpecPath } from "./types.ts";
import type { StepOutcome, World } from "./world.ts";

/** A command the model put on a queue during the step. */
export interface CmdRecord {
  readonly queue: string;
  readonly family: Family;
  readonly cmd: CmdLike;
}

/** What `--update` needs to rewrite a failing command list. */
export interface UpdateTarget {
  /** Path of the commands list node. */
  readonly path: SpecPath;
  readonly expected: readonly ExpectedCmd[];
  readonly actual: readonly CmdRecord[];
  readonly ops: readonly AlignOp[];
  /** Whether lines name their queue. */
  readonly queues: boolean;
  /** Whether the list failed (a passing list is kept to detect cells that disagree). */
  readonly failed: boolean;
}

/** The verdict on one step. */
export interface StepResult {
  readonly step: LoadedStep;
  /** `3 unmap` or `3 unmap (name)`: 1-based index, verb, optional step name. */
  readonly title: string;
  readonly status: "pass" | "fail";
  readonly failures: readonly Diagnostic[];
  readonly events: readonly Event[];
  readonly commands: readonly CmdRecord[];
  readonly outcome: StepOutcome;
  /** Every command list checked, with the actual commands: what `--update` rewrites. */
  readonly lists: readonly UpdateTarget[];
}

/** Per-scenario matching state. */
export interface MatchCtx {
  readonly cell: Cell;
  readonly variants: Readonly<Record<string, string>>;
  /** Capture name → value and the step that bound it. */
  readonly captures: Map<string, { readonly value: FieldValue; readonly step: number }>;
  readonly world: World;
  readonly locator: SourceLocator;
  /** Whether the scenario has several IOMMUs (lines then name their queue). */
  readonly queues: boolean;
  /** File shown in the --update hint. */
  readonly updateHint?: string;
}

/** The 1-based title of a step. */
export function stepTitle(step: LoadedStep): string {
  return `${step.index + 1} ${step.verb}${step.label ? ` (${step.label})` : ""}`;
}

type Bindings = Map<string, FieldValue>;

/** Whether actual `a` matches expected `e`; binds captures into `bind` when given. */
function cmdMatches(
  e: ExpectedCmd,
  a: CmdRecord,
  ctx: MatchCtx,
  bind?: Bindings,
): boolean {
  if (e.family !== a.family || e.pattern.op !== a.cmd.op) return false;
  if (e.queue !== undefined && e.queue !== a.queue) return false;
  const codec = CODECS[a.family]!;
  for (const f of opFields(codec, a.cmd.op)) {
    const p = e.pattern.fields[f];
    const v = a.cmd[f] as FieldValue;
    if (p === undefined) {
      if (codec.ops[a.cmd.op].fields[f].free) continue;
      if (v !== fieldDefault(codec, a.cmd.op, f)) return false;
    } else if (p.t === "val") {
      if (p.v !== v) return false;
    } else if (p.t === "cap") {
      const known = ctx.captures.get(p.name)?.value ?? bind?.get(p.name);
      if (known !== undefined) {
        if (known !== v) return false;
      } else if (bind) bind.set(p.name, v);
    }
  }
  return true;
}

/** `field: expected → actual` for each differing field of two same-opcode commands. */
function fieldChanges(e: ExpectedCmd, a: CmdRecord, ctx: MatchCtx): string[] {
  if (e.pattern.op !== a.cmd.op || e.family !== a.family) return [];
  const codec = CODECS[a.family]!;
  const out: string[] = [];
  for (const f of opFields(codec, a.cmd.op)) {
    const p = e.pattern.fields[f];
    const v = a.cmd[f] as FieldValue;
    const show = (x: FieldValue) => fieldFormat(codec, a.cmd.op, f, x);
    if (p === undefined) {
      if (codec.ops[a.cmd.op].fields[f].free) continue;
      const d = fieldDefault(codec, a.cmd.op, f);
      if (d !== v) out.push(`${f}: ${show(d)} → ${show(v)}`);
    } else if (p.t === "val" && p.v !== v) out.push(`${f}: ${show(p.v)} → ${show(v)}`);
    else if (p.t === "cap") {
      const c = ctx.captures.get(p.name);
      if (c && c.value !== v) out.push(`${f}: $${p.name}=${show(c.value)} → ${show(v)}`);
    }
  }
  if (e.queue !== undefined && e.queue !== a.queue) out.unshift(`queue: ${e.queue} → ${a.queue}`);
  return out;
}

function actualText(a: CmdRecord, queues: boolean): string {
  return (queues ? `${a.queue}: ` : "") + formatAny(a.family, a.cmd);
}

function checkCommands(
  block: NonNullable<ExpectBlock["commands"]>,
  actual: readonly CmdRecord[],
  ctx: MatchCtx,
  title: string,
): { failure?: Diagnostic; list: UpdateTarget; bound?: Bindings } {
  const exp = block.list;
  const ops = align(exp.length, actual.length, (e, a) => cmdMatches(exp[e], actual[a], ctx));
  const dels = ops.filter((o) => o.kind === "del");
  const adds = ops.filter((o) => o.kind === "add");
  const ok = dels.length === 0 && (block.mode === "contains" || adds.length === 0);
  const list = { path: block.path, expected: exp, actual, ops, queues: ctx.queues, failed: !ok };
  if (ok) {
    // Bind captures in order; a later use must equal the first binding.
    const bound: Bindings = new Map();
    for (const o of ops) {
      if (o.kind === "same" && !cmdMatches(exp[o.e], actual[o.a], ctx, bound)) {
        return { failure: captureFailure(exp[o.e], actual[o.a], ctx, title), list };
      }
    }
    return { bound, list };
  }
  const lines = renderAlign(ops, {
    expected: (e) => ({
      text: (exp[e].queue ? `${exp[e].queue}: ` : "") + patternText(exp[e]),
      line: ctx.locator.at(exp[e].path).start.line,
    }),
    actual: (a) => actualText(actual[a], ctx.queues),
    fields: (e, a) => fieldChanges(exp[e], actual[a], ctx),
  }, { del: (s) => s, add: (s) => s, dim: (s) => s });
  const firstDel = ops.find((o) => o.kind === "del") as { e: number } | undefined;
  let range;
  let label;
  if (firstDel) {
    range = ctx.locator.at(exp[firstDel.e].path);
    const next = ops[ops.indexOf(firstDel as AlignOp) + 1];
    label = next?.kind === "add"
      ? `expected here, the model emitted ${actualText(actual[next.a], ctx.queues)}`
      : "expected here, not emitted";
  } else {
    const lastSame = [...ops].reverse().find((o) => o.kind === "same") as { e: number } | undefined;
    range = ctx.locator.at(lastSame ? exp[lastSame.e].path : block.path);
    const firstAdd = adds[0] as { a: number };
    label = `then the model also emitted ${actualText(actual[firstAdd.a], ctx.queues)}`;
  }
  const failure: Diagnostic = {
    severity: "fail",
    title:
      `Step ${title} emitted other commands than expected (expected ${exp.length}, got ${actual.length})`,
    range,
    label,
    detail: ["diff (- expected, + actual):", ...lines.map((l) => "  " + l)],
    fixme: `to accept what the model emitted: deno task invspec run --update ${
      ctx.updateHint ?? ctx.locator.file
    }`,
  };
  return { failure, list };
}

function patternText(e: ExpectedCmd): string {
  const parts = [e.pattern.op];
  const codec = CODECS[e.family]!;
  for (const f of opFields(codec, e.pattern.op)) {
    const p = e.pattern.fields[f];
    if (!p) continue;
    if (p.t === "any") parts.push(`${f}=_`);
    else if (p.t === "cap") parts.push(`${f}=$${p.name}`);
    else if (p.v === true && codec.ops[e.pattern.op].fields[f].kind === "flag") parts.push(f);
    else parts.push(`${f}=${fieldFormat(codec, e.pattern.op, f, p.v)}`);
  }
  return parts.join(" ");
}

function captureFailure(e: ExpectedCmd, a: CmdRecord, ctx: MatchCtx, title: string): Diagnostic {
  const notes: string[] = [];
  for (const [f, p] of Object.entries(e.pattern.fields)) {
    if (p.t !== "cap") continue;
    const c = ctx.captures.get(p.name);
    if (c && c.value !== a.cmd[f]) {
      notes.push(
        `$${p.name} is ${fieldFormat(CODECS[a.family]!, a.cmd.op, f, c.value)} since step ${
          c.step + 1
        }, here ${f}=${fieldFormat(CODECS[a.family]!, a.cmd.op, f, a.cmd[f] as FieldValue)}`,
      );
    }
  }
  return {
    severity: "fail",
    title: `Step ${title}: a capture changed value`,
    range: ctx.locator.at(e.path),
    label: notes[0] ?? "capture mismatch",
    detail: notes.slice(1),
  };
}

function warnText(e: Event): string {
  return e.kind === "warn" ? `${e.fn}: ${e.what}` : "";
}

function checkWarnings(
  blocks: readonly ExpectBlock[],
  events: readonly Event[],
  ctx: MatchCtx,
  title: string,
  step: LoadedStep,
): Diagnostic[] {
  const warns = events.filter((e) => e.kind === "warn").map(warnText);
  const expected = blocks.flatMap((b) => b.warnings ? b.warnings.list : []);
  const listed = blocks.some((b) => b.warnings);
  const left = [...warns];
  const out: Diagnostic[] = [];
  for (const w of expected) {
    const i = left.findIndex((x) => x === w.text || x.includes(w.text));
    if (i >= 0) left.splice(i, 1);
    else {
      out.push({
        severity: "fail",
        title: `Step ${title}: expected a kernel WARN that did not happen`,
        range: ctx.locator.at(w.path),
        label: warns.length ? `WARNs raised: ${warns.join("; ")}` : "no WARN was raised",
      });
    }
  }
  if (left.length) {
    out.push({
      severity: "fail",
      title: `Step ${title} raised a kernel WARN${left.length > 1 ? "s" : ""}: ${left.join("; ")}`,
      range: ctx.locator.keyAt([...step.path, step.verb]),
      fixme: listed
        ? "add it to expect.warnings if the kernel really warns here"
        : "if the kernel really warns here, list it under expect: { warnings: [...] }",
    });
  }
  return out;
}

/** Judges one step. */
export function matchStep(
  step: LoadedStep,
  run: { readonly events: readonly Event[]; readonly outcome: StepOutcome },
  ctx: MatchCtx,
): StepResult {
  const title = stepTitle(step);
  const commands: CmdRecord[] = [];
  for (const e of run.events) {
    if (e.kind === "cmd") commands.push({ queue: e.queue, family: e.family, cmd: e.cmd });
  }
  const blocks = (step.expect ?? []).filter((b) =>
    !b.when || whenHolds(b.when, ctx.cell, ctx.variants)
  );
  const failures: Diagnostic[] = [];
  const lists: UpdateTarget[] = [];
  const bound: Bindings = new Map();
  const hang = run.events.find((e) => e.kind === "hang");
  const hangExp = blocks.find((b) => b.hang)?.hang;
  if (hang?.kind === "hang") {
    if (!hangExp || !hang.fn.includes(hangExp.fn)) {
      failures.push({
        severity: "fail",
        title:
          `Step ${title}: driver did not finish after ${hang.iterations} iterations (${hang.fn})`,
        range: ctx.locator.keyAt([...step.path, step.verb]),
        label: "the model was stopped here",
      });
    }
  } else if (hangExp) {
    failures.push({
      severity: "fail",
      title: `Step ${title}: expected ${hangExp.fn} not to finish, but it did`,
      range: ctx.locator.at(hangExp.path),
    });
  }
  for (const b of blocks) {
    if (b.commands) {
      const r = checkCommands(b.commands, commands, ctx, title);
      if (r.failure) failures.push(r.failure);
      for (const [k, v] of r.bound ?? []) bound.set(k, v);
      lists.push(r.list);
    }
    const ret = run.outcome.returns ?? 0;
    if (b.returns && b.returns.value !== ret) {
      failures.push({
        severity: "fail",
        title: `Step ${title} returned ${ret}, expected ${b.returns.value}`,
        range: ctx.locator.at(b.returns.path),
        label: `returned ${ret}`,
      });
    }
    if (b.entryNum && b.entryNum.value !== run.outcome.entryNum) {
      failures.push({
        severity: "fail",
        title: `Step ${title}: entry_num is ${
          run.outcome.entryNum ?? "not set"
        }, expected ${b.entryNum.value}`,
        range: ctx.locator.at(b.entryNum.path),
        label: `entry_num ${run.outcome.entryNum ?? "not set"}`,
      });
    }
    for (const x of b.ext) {
      for (const m of EXPECT_KEYS[x.key].check(ctx.world, x.value, run.outcome, run.events)) {
        failures.push({
          severity: "fail",
          title: `Step ${title}: ${m.title}`,
          range: ctx.locator.at(m.path),
          detail: m.detail,
        });
      }
    }
  }
  if (!hang) failures.push(...checkWarnings(blocks, run.events, ctx, title, step));
  if (failures.length === 0) {
    for (const [k, v] of bound) {
      if (!ctx.captures.has(k)) ctx.captures.set(k, { value: v, step: step.index });
    }
  }
  return {
    step,
    title,
    status: failures.length ? "fail" : "pass",
    failures,
    events: run.events,
    commands,
    outcome: run.outcome,
    lists,
  };
}
