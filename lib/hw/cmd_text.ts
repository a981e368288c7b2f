/**
 * The canonical one-line text of a command family (`TLBI_NH_VA asid=1 addr=0x40000 leaf`):
 * formatting, parsing with positions for carets, and expectation patterns with `_`
 * wildcards and `$NAME` captures.
 * @module
 */

import { parseU64 } from "../num.ts";
import { suggest } from "../suggest.ts";
import {
  type CmdLike,
  type Codec,
  defaultOf,
  fieldProblem,
  type FieldSpec,
  type FieldValue,
  type OpSpec,
} from "./codec.ts";
import { hex } from "../bits.ts";

/** A field as written in an expectation: a value, `_` (anything) or `$NAME` (a capture). */
export type FieldPattern =
  | { readonly t: "val"; readonly v: FieldValue }
  | { readonly t: "any" }
  | { readonly t: "cap"; readonly name: string };

/** An expectation line: opcode plus the fields it wrote, with their text offsets. */
export interface CmdPattern {
  /** Opcode name (aliases resolved). */
  readonly op: string;
  /** The fields the text wrote. */
  readonly fields: Readonly<Record<string, FieldPattern>>;
  /** 0-based offset of each written field in the text, for carets. */
  readonly offsets: Readonly<Record<string, number>>;
}

/** A command text that cannot be read; `offset`/`length` locate the problem in the text. */
export class CmdSyntaxError extends SyntaxError {
  /** 0-based offset of the offending token in the text. */
  readonly offset: number;
  /** Length of the offending token. */
  readonly length: number;
  /** An error at `offset` spanning `length` characters. */
  constructor(message: string, offset: number, length: number) {
    super(message);
    this.name = "CmdSyntaxError";
    this.offset = offset;
    this.length = length;
  }
}

function formatValue(f: FieldSpec, v: FieldValue): string {
  if (f.kind === "enum") return f.names?.[v as number] ?? String(v);
  if (typeof v === "boolean") return v ? "1" : "0";
  if (f.kind === "addr" || f.hex) return hex(v);
  return String(v);
}

/** Options for {@link cmdFormat}. */
export interface FormatOptions {
  /** Also print `free` fields (queue-position dependent values). */
  readonly full?: boolean;
}

/**
 * The canonical one-line text: opcode, then the fields that differ from their default,
 * in table order; true flags are bare words. `free` fields are left out unless `full`.
 */
export function cmdFormat(codec: Codec, cmd: CmdLike, opts: FormatOptions = {}): string {
  const spec = codec.ops[cmd.op];
  if (!spec) return `${cmd.op}?`;
  let s = cmd.op;
  for (const [name, f] of Object.entries(spec.fields)) {
    const v = cmd[name] as FieldValue;
    if (v === undefined || v === defaultOf(f) || (f.free && !opts.full)) continue;
    if (f.kind === "flag" && v === true) s += ` ${name}`;
    else s += ` ${name}=${formatValue(f, v)}`;
  }
  return s;
}

/** Formats one field value the way the canonical text does. */
export function fieldFormat(codec: Codec, op: string, field: string, v: FieldValue): string {
  return formatValue(codec.ops[op].fields[field], v);
}

function parseValue(name: string, f: FieldSpec, text: string): FieldValue | string {
  if (f.kind === "flag") {
    if (text === "1" || text === "true") return true;
    if (text === "0" || text === "false") return false;
    return `${name} is a flag: write "${name}" alone, or ${name}=0 / ${name}=1`;
  }
  if (f.kind === "enum" && f.names) {
    const i = f.names.findIndex((n) => n !== undefined && n.toLowerCase() === text.toLowerCase());
    if (i >= 0) return i;
  }
  const n = parseU64(text);
  if (typeof n === "string") {
    const choices = f.kind === "enum" && f.names
      ? `; ${name} takes ${f.names.filter((x) => x !== undefined).join(", ")} or a number`
      : "";
    return `${name}="${text}": ${n}${choices}`;
  }
  const v: FieldValue = f.kind === "addr" || f.kind === "u64" ? n : Number(n);
  return fieldProblem(name, f, v) ?? v;
}

/** Options for {@link cmdParse}. */
export interface ParseOptions {
  /** Accept `_` (any value) and `$NAME` (capture) as field values. */
  readonly pattern?: boolean;
}

function fieldList(spec: OpSpec): string {
  return Object.keys(spec.fields).join(" ") || "no fields";
}

/**
 * Reads a command line. Fields may come in any order; unwritten fields take their
 * defaults (filled by {@link patternToCmd}).
 *
 * @throws {CmdSyntaxError} with the offset of the offending token.
 */
export function cmdParse(codec: Codec, text: string, opts: ParseOptions = {}): CmdPattern {
  const tokens: { s: string; at: number }[] = [];
  for (const m of text.matchAll(/\S+/g)) tokens.push({ s: m[0], at: m.index });
  if (tokens.length === 0) throw new CmdSyntaxError(`Cannot parse ${codec.family}: empty`, 0, 0);
  const head = tokens[0];
  const op = codec.aliases?.[head.s] ?? head.s;
  const spec = codec.ops[op];
  if (!spec) {
    const names = [...Object.keys(codec.ops), ...Object.keys(codec.aliases ?? {})];
    const near = suggest(head.s, names);
    throw new CmdSyntaxError(
      `Cannot parse ${codec.family}: unknown opcode "${head.s}"` +
        (near ? `; did you mean "${near}"?` : ""),
      head.at,
      head.s.length,
    );
  }
  const fields: Record<string, FieldPattern> = {};
  const offsets: Record<string, number> = {};
  for (const tok of tokens.slice(1)) {
    const eq = tok.s.indexOf("=");
    const name = eq < 0 ? tok.s : tok.s.slice(0, eq);
    const f = spec.fields[name];
    if (!f) {
      const near = suggest(name, Object.keys(spec.fields));
      throw new CmdSyntaxError(
        `Cannot parse ${op}: unknown field "${name}"` +
          (near ? `; did you mean "${near}"?` : "") + ` ${op} takes ${fieldList(spec)}`,
        tok.at,
        name.length,
      );
    }
    if (name in fields) {
      throw new CmdSyntaxError(
        `Cannot parse ${op}: field "${name}" written twice`,
        tok.at,
        name.length,
      );
    }
    offsets[name] = tok.at;
    if (eq < 0) {
      if (f.kind !== "flag") {
        throw new CmdSyntaxError(
          `Cannot parse ${op}: "${name}" needs a value (${name}=...)`,
          tok.at,
          name.length,
        );
      }
      fields[name] = { t: "val", v: true };
      continue;
    }
    const vt = tok.s.slice(eq + 1);
    const vAt = tok.at + eq + 1;
    if (opts.pattern && vt === "_") {
      fields[name] = { t: "any" };
      continue;
    }
    if (opts.pattern && /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(vt)) {
      fields[name] = { t: "cap", name: vt.slice(1) };
      continue;
    }
    const v = parseValue(name, f, vt);
    if (typeof v === "string") {
      throw new CmdSyntaxError(`Cannot parse ${op}: ${v}`, vAt, Math.max(vt.length, 1));
    }
    fields[name] = { t: "val", v };
  }
  return { op, fields, offsets };
}

/** Fills unwritten fields with defaults. Wildcards and captures are not allowed here. */
export function patternToCmd(codec: Codec, p: CmdPattern): CmdLike {
  const cmd: { op: string; [field: string]: FieldValue | string } = { op: p.op };
  for (const [name, f] of Object.entries(codec.ops[p.op].fields)) {
    const fp = p.fields[name];
    if (fp && fp.t !== "val") {
      throw new CmdSyntaxError(`Cannot use "${fp.t === "any" ? "_" : "$" + fp.name}" here`, 0, 0);
    }
    cmd[name] = fp ? fp.v : defaultOf(f);
  }
  return cmd;
}

/** Parses a full command (no wildcards), with defaults filled in. */
export function cmdParseFull(codec: Codec, text: string): CmdLike {
  return patternToCmd(codec, cmdParse(codec, text));
}
