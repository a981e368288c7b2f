/**
 * Reads a step's `expect` into typed expectation blocks. Three forms:
 * a list of command lines (the exact sequence); a map with `commands`, `returns`,
 * `warnings`, `mode`, ... ; or a list of such maps each guarded by `when:` (matrix cells).
 * @module
 */

import { type CmdPattern, CmdSyntaxError } from "../lib/hw/cmd_text.ts";
import type { Family } from "../lib/events.ts";
import { ERRNOS } from "../lib/errno.ts";
import { suggest } from "../lib/suggest.ts";
import { familiesOfOp, FAMILY_OF_KIND, parsePatternOf } from "./codecs.ts";
import type { ExpectExt } from "./expect_ext.ts";
import type { Diagnostic, SourceLocator, SpecPath } from "./types.ts";

/** One expected command line. */
export interface ExpectedCmd {
  /** Queue (IOMMU name) the line names, if any. */
  readonly queue?: string;
  readonly family: Family;
  readonly pattern: CmdPattern;
  /** Path of the line's text scalar. */
  readonly path: SpecPath;
}

/** How expected commands relate to the actual ones. */
export type MatchMode = "exact" | "contains";

/** A matrix condition: axis → accepted values. */
export type When = Readonly<Record<string, readonly (string | boolean | number)[]>>;

/** One expectation block. */
export interface ExpectBlock {
  readonly path: SpecPath;
  readonly when?: When;
  readonly commands?: {
    readonly list: readonly ExpectedCmd[];
    /** Path of the list node (what `--update` rewrites). */
    readonly path: SpecPath;
    readonly mode: MatchMode;
  };
  readonly returns?: { readonly value: 0 | string; readonly path: SpecPath };
  readonly entryNum?: { readonly value: number; readonly path: SpecPath };
  readonly warnings?: {
    readonly list: readonly { readonly text: string; readonly path: SpecPath }[];
    readonly path: SpecPath;
  };
  readonly hang?: { readonly fn: string; readonly path: SpecPath };
  /** Area-specific keys (`invs`, ...), parsed by their handler. */
  readonly ext: readonly {
    readonly key: string;
    readonly value: unknown;
    readonly path: SpecPath;
  }[];
}

/** What expectation parsing needs to know about the scenario. */
export interface ExpectCtx {
  /** Declared IOMMUs: name → kind. */
  readonly iommus: Readonly<Record<string, string>>;
  /** Everything else the spec declares, for name checks in area keys. */
  readonly names: Readonly<Record<string, readonly string[]>>;
  readonly locator: SourceLocator;
  readonly diags: Diagnostic[];
  /** Area expectation keys (`invs`, ...). */
  readonly ext: Readonly<Record<string, ExpectExt>>;
}

const BLOCK_KEYS = ["commands", "mode", "returns", "entry_num", "warnings", "hang", "when"];

/** Adds an error diagnostic at `path`. */
export function specError(
  ctx: { readonly locator: SourceLocator; readonly diags: Diagnostic[] },
  path: SpecPath,
  title: string,
  opts: { label?: string; fixme?: string; key?: boolean } = {},
): void {
  const range = opts.key ? ctx.locator.keyAt(path) : ctx.locator.at(path);
  ctx.diags.push({ severity: "error", title, range, label: opts.label, fixme: opts.fixme });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseLine(ctx: ExpectCtx, raw: unknown, path: SpecPath): ExpectedCmd | undefined {
  let queue: string | undefined;
  let text: unknown = raw;
  let at = path;
  if (isMap(raw)) {
    const keys = Object.keys(raw);
    if (keys.length !== 1) {
      specError(ctx, path, "Cannot read command: expected one line of text or { <iommu>: <text> }");
      return;
    }
    queue = keys[0];
    text = raw[queue];
    at = [...path, queue];
    if (!(queue in ctx.iommus)) {
      const near = suggest(queue, Object.keys(ctx.iommus));
      specError(ctx, at, `Cannot read command: no IOMMU named "${queue}"`, {
        key: true,
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: `declared IOMMUs: ${Object.keys(ctx.iommus).join(", ")}`,
      });
      return;
    }
  }
  if (typeof text !== "string") {
    specError(ctx, at, 'Cannot read command: expected a line of text such as "CMD_SYNC"');
    return;
  }
  const names = Object.keys(ctx.iommus);
  if (queue === undefined && names.length > 1) {
    specError(ctx, at, "Cannot read command: this scenario has several IOMMUs", {
      label: "say which queue",
      fixme: `write it as { ${names[0]}: ${text} }`,
    });
    return;
  }
  const kind = ctx.iommus[queue ?? names[0]];
  const family = FAMILY_OF_KIND[kind];
  const op = text.trim().split(/\s+/)[0] ?? "";
  const known = familiesOfOp(op);
  if (known.length > 0 && !known.includes(family)) {
    specError(ctx, at, `Cannot read command: ${op} is not a command of ${kind} queues`, {
      label: `${queue ?? names[0]} is ${kind}`,
    });
    return;
  }
  try {
    return { queue, family, pattern: parsePatternOf(family, text), path: at };
  } catch (e) {
    if (!(e instanceof CmdSyntaxError)) throw e;
    const base = ctx.locator.at(at);
    const col = base.start.col + ctx.locator.valueOffset(at) + e.offset;
    const i = e.message.indexOf("; ");
    ctx.diags.push({
      severity: "error",
      title: i < 0 ? e.message : e.message.slice(0, i),
      range: {
        file: base.file,
        start: { line: base.start.line, col },
        end: { line: base.start.line, col: col + Math.max(1, e.length) },
      },
      label: i < 0 ? undefined : e.message.slice(i + 2),
    });
  }
}

function parseCommands(ctx: ExpectCtx, raw: unknown, path: SpecPath): ExpectedCmd[] | undefined {
  if (!Array.isArray(raw)) {
    specError(ctx, path, "Cannot read commands: expected a list of command lines");
    return;
  }
  const out: ExpectedCmd[] = [];
  let ok = true;
  raw.forEach((item, i) => {
    const c = parseLine(ctx, item, [...path, i]);
    if (c) out.push(c);
    else ok = false;
  });
  return ok ? out : undefined;
}

function parseWhen(ctx: ExpectCtx, raw: unknown, path: SpecPath): When | undefined {
  if (!isMap(raw)) {
    specError(ctx, path, "Cannot read when: expected a map of matrix axis to value(s)");
    return;
  }
  const out: Record<string, (string | boolean | number)[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    const vals = Array.isArray(v) ? v : [v];
    if (!vals.every((x) => ["string", "boolean", "number"].includes(typeof x))) {
      specError(ctx, [...path, k], `Cannot read when.${k}: expected a value or a list of values`);
      return;
    }
    out[k] = vals as (string | boolean | number)[];
  }
  return out;
}

/** Reads a map-form block. */
function parseBlock(
  ctx: ExpectCtx,
  raw: Record<string, unknown>,
  path: SpecPath,
): ExpectBlock | undefined {
  const before = ctx.diags.length;
  const block: {
    -readonly [K in keyof ExpectBlock]: ExpectBlock[K];
  } = { path, ext: [] };
  const ext: { key: string; value: unknown; path: SpecPath }[] = [];
  for (const [key, v] of Object.entries(raw)) {
    const p = [...path, key];
    if (key === "commands") {
      const list = parseCommands(ctx, v, p);
      if (list) block.commands = { list, path: p, mode: "exact" };
    } else if (key === "mode") {
      if (v !== "exact" && v !== "contains") {
        specError(ctx, p, `Cannot read mode: "${v}" is not exact or contains`);
      }
    } else if (key === "returns") {
      if (v === 0 || (typeof v === "string" && (ERRNOS as readonly string[]).includes(v))) {
        block.returns = { value: v as 0 | string, path: p };
      } else {
        const near = typeof v === "string" ? suggest(v, ERRNOS) : undefined;
        specError(ctx, p, `Cannot read returns: expected 0 or an errno name, got "${v}"`, {
          label: near ? `did you mean "${near}"?` : undefined,
        });
      }
    } else if (key === "entry_num") {
      if (typeof v === "number" && Number.isInteger(v) && v >= 0) {
        block.entryNum = { value: v, path: p };
      } else specError(ctx, p, "Cannot read entry_num: expected a non-negative integer");
    } else if (key === "warnings") {
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
        block.warnings = { list: v.map((text, i) => ({ text, path: [...p, i] })), path: p };
      } else specError(ctx, p, 'Cannot read warnings: expected a list of "function: what" lines');
    } else if (key === "hang") {
      if (typeof v === "string") block.hang = { fn: v, path: p };
      else {specError(
          ctx,
          p,
          "Cannot read hang: expected the name of the function that does not finish",
        );}
    } else if (key === "when") {
      block.when = parseWhen(ctx, v, p);
    } else if (Object.hasOwn(ctx.ext, key)) {
      const parsed = ctx.ext[key].parse(v, p, ctx);
      if (parsed !== undefined) ext.push({ key, value: parsed, path: p });
    } else {
      const all = [...BLOCK_KEYS, ...Object.keys(ctx.ext)];
      const near = suggest(key, all);
      specError(ctx, p, `Unknown expectation "${key}"`, {
        key: true,
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: `expect takes ${all.join(", ")}`,
      });
    }
  }
  if (raw.mode === "contains" && block.commands) {
    block.commands = { ...block.commands, mode: "contains" };
  }
  block.ext = ext;
  return ctx.diags.length === before ? block : undefined;
}

/** A one-key map naming a declared IOMMU: a command line of a multi-queue scenario. */
function isQueueLine(ctx: ExpectCtx, x: Record<string, unknown>): boolean {
  const keys = Object.keys(x);
  return keys.length === 1 && keys[0] in ctx.iommus && typeof x[keys[0]] === "string";
}

/**
 * Reads `expect` at `path`. Returns its blocks, or undefined when it has errors (reported
 * in `ctx.diags`).
 */
export function parseExpect(
  ctx: ExpectCtx,
  raw: unknown,
  path: SpecPath,
): ExpectBlock[] | undefined {
  if (isMap(raw)) {
    const b = parseBlock(ctx, raw, path);
    return b ? [b] : undefined;
  }
  if (!Array.isArray(raw)) {
    specError(ctx, path, "Cannot read expect: expected a list of commands or a map");
    return;
  }
  // A list of maps is a list of blocks (each may be guarded by when:); a list of lines is
  // the command sequence. Mixing the two is an error.
  const blocksForm = raw.some((x) => isMap(x) && ("when" in x || !isQueueLine(ctx, x)));
  if (blocksForm) {
    const i = raw.findIndex((x) => !isMap(x));
    if (i >= 0) {
      specError(
        ctx,
        [...path, i],
        "Cannot mix command lines and expectation blocks in one expect",
        {
          fixme: "put the commands under a block's commands:, guarded by when: if needed",
        },
      );
      return;
    }
    const blocks: ExpectBlock[] = [];
    let ok = true;
    raw.forEach((item, i) => {
      const b = parseBlock(ctx, item as Record<string, unknown>, [...path, i]);
      if (b) blocks.push(b);
      else ok = false;
    });
    return ok ? blocks : undefined;
  }
  const list = parseCommands(ctx, raw, path);
  return list ? [{ path, commands: { list, path, mode: "exact" }, ext: [] }] : undefined;
}
