/**
 * Table-driven codec for fixed-size hardware commands (SMMUv3 command-queue entries,
 * VT-d queued-invalidation descriptors): typed values, bit-exact encode/decode to 64-bit
 * words, and the canonical one-line text form with its parser.
 *
 * A command family is a table: opcode name → opcode value and named fields, each with its
 * bit position, kind and default. Types of the command values are derived from the table,
 * so the table is the one place a field is declared.
 * @module
 */

import { fieldGet, genmask, hex } from "../bits.ts";
import { parseU64 } from "../num.ts";
import { suggest } from "../suggest.ts";

/** `u`: number ≤ 32 bits; `u64`: bigint; `flag`: one bit; `addr`: bigint kept at its bit
 * position (low bits below `lo` must be zero); `enum`: number shown by name. */
export type FieldKind = "u" | "u64" | "flag" | "addr" | "enum";

/** One field of one opcode. */
export interface FieldSpec {
  /** How the value is typed and shown. */
  readonly kind: FieldKind;
  /** Index of the 64-bit word holding the field. */
  readonly word: number;
  /** Highest bit of the field in its word. */
  readonly hi: number;
  /** Lowest bit of the field in its word. */
  readonly lo: number;
  /** Value when the text does not mention the field (0 / false when absent). */
  readonly def?: number | bigint | boolean;
  /** Print in hex. `addr` fields are always hex. */
  readonly hex?: boolean;
  /** `enum` display names by value; a missing name prints the number. */
  readonly names?: readonly (string | undefined)[];
  /**
   * The value depends on where the entry sits in its queue (a completion address), not on
   * what the command asks for: the canonical text leaves it out, and an expectation that does
   * not write it matches any value.
   */
  readonly free?: boolean;
}

/** A numeric field at bits [hi:lo] of word `word`. */
export function fieldU<const E extends Partial<FieldSpec>>(
  word: number,
  hi: number,
  lo: number,
  extra?: E,
) {
  return { kind: "u", word, hi, lo, ...extra } as const;
}

/** A one-bit flag. */
export function fieldFlag(word: number, bit: number) {
  return { kind: "flag", word, hi: bit, lo: bit } as const;
}

/** An address kept at its bit position [hi:lo]. */
export function fieldAddr(word: number, hi: number, lo: number) {
  return { kind: "addr", word, hi, lo } as const;
}

/** One opcode: its value and its fields in canonical text order. */
export interface OpSpec {
  /** Opcode value. */
  readonly code: number;
  /** Fields by name, in canonical text order. */
  readonly fields: { readonly [name: string]: FieldSpec };
}

/** A family's table of opcodes. */
export type OpTable = { readonly [op: string]: OpSpec };

/** The TypeScript type of a field's value. */
export type ValueOf<F> = F extends { kind: "flag" } ? boolean
  : F extends { kind: "addr" | "u64" } ? bigint
  : number;

/** Flattens an intersection into one mutable object type. */
export type Simplify<T> = { -readonly [P in keyof T]: T[P] } & unknown;

/** The typed value of one opcode of a table. */
export type CmdOf<T extends OpTable, K extends keyof T & string> = Simplify<
  & { op: K }
  & { -readonly [P in keyof T[K]["fields"]]: ValueOf<T[K]["fields"][P]> }
>;

/** Any command of a table, discriminated by `op`. */
export type AnyCmdOf<T extends OpTable> = {
  [K in keyof T & string]: CmdOf<T, K>;
}[keyof T & string];

/** A value a command field can hold. */
export type FieldValue = number | bigint | boolean;

/** A loosely typed view of any command; what generic code (matchers, reporters) reads. */
export interface CmdLike {
  /** Opcode name. */
  readonly op: string;
  /** Field values by name. */
  readonly [field: string]: FieldValue | string;
}

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

/** A command family: its table plus how the opcode sits in the words. */
export interface Codec {
  /** Family name shown in messages ("SMMUv3 command", "VT-d descriptor"). */
  readonly family: string;
  readonly words: number;
  readonly ops: OpTable;
  /** Other spellings accepted by the parser (e.g. `SYNC` for `CMD_SYNC`). */
  readonly aliases?: Readonly<Record<string, string>>;
  opcodeOf(words: readonly bigint[]): number;
  opcodeWords(code: number): bigint[];
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

function width(f: FieldSpec): number {
  return f.hi - f.lo + 1;
}

function defaultOf(f: FieldSpec): FieldValue {
  if (f.def !== undefined) return f.def;
  if (f.kind === "flag") return false;
  return f.kind === "addr" || f.kind === "u64" ? 0n : 0;
}

/** The value a field takes when a command text does not write it. */
export function fieldDefault(codec: Codec, op: string, field: string): FieldValue {
  return defaultOf(codec.ops[op].fields[field]);
}

/** Why `v` cannot be stored in field `f`, or undefined when it can. */
export function fieldProblem(name: string, f: FieldSpec, v: unknown): string | undefined {
  const w = width(f);
  switch (f.kind) {
    case "flag":
      return typeof v === "boolean" ? undefined : `${name} must be a flag (true/false)`;
    case "u":
    case "enum":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        return `${name} must be a non-negative integer`;
      }
      return v < 2 ** w ? undefined : `${name} ${v} does not fit in ${w} bits (max ${2 ** w - 1})`;
    case "u64":
      if (typeof v !== "bigint" || v < 0n) return `${name} must be a non-negative bigint`;
      return v < 1n << BigInt(w)
        ? undefined
        : `${name} ${hex(v)} does not fit in ${w} bits (max ${hex((1n << BigInt(w)) - 1n)})`;
    case "addr": {
      if (typeof v !== "bigint" || v < 0n) return `${name} must be a non-negative bigint`;
      const mask = genmask(f.hi, f.lo);
      if ((v & ~mask) === 0n) return undefined;
      return v >> BigInt(f.hi + 1) !== 0n
        ? `${name} ${hex(v)} does not fit in bits [${f.hi}:${f.lo}]`
        : `${name} ${hex(v)} is not aligned to ${hex(1n << BigInt(f.lo))} (bits [${
          f.lo - 1
        }:0] must be 0)`;
    }
  }
}

/** Reasons the command cannot be encoded (empty when it can). */
export function cmdProblems(codec: Codec, cmd: CmdLike): string[] {
  const spec = codec.ops[cmd.op];
  if (!spec) return [`unknown ${codec.family} opcode "${cmd.op}"`];
  const out: string[] = [];
  for (const [name, f] of Object.entries(spec.fields)) {
    const p = fieldProblem(name, f, cmd[name]);
    if (p) out.push(p);
  }
  for (const k of Object.keys(cmd)) {
    if (k !== "op" && !(k in spec.fields)) out.push(`${cmd.op} has no field "${k}"`);
  }
  return out;
}

/**
 * Encodes a command to its words, bit-exact. Values that do not fit their field are a
 * `RangeError`, never silently truncated.
 */
export function cmdEncode(codec: Codec, cmd: CmdLike): bigint[] {
  const problems = cmdProblems(codec, cmd);
  if (problems.length) {
    throw new RangeError(`Cannot encode ${cmd.op}: ${problems.join("; ")}`);
  }
  const spec = codec.ops[cmd.op];
  const words = codec.opcodeWords(spec.code);
  for (const [name, f] of Object.entries(spec.fields)) {
    const v = cmd[name] as FieldValue;
    let bits: bigint;
    if (f.kind === "addr") bits = v as bigint;
    else bits = BigInt(typeof v === "boolean" ? (v ? 1 : 0) : v) << BigInt(f.lo);
    words[f.word] |= bits;
  }
  return words;
}

const opIndex = new WeakMap<Codec, Map<number, string>>();

function opByCode(codec: Codec, code: number): string | undefined {
  let m = opIndex.get(codec);
  if (!m) {
    m = new Map(Object.entries(codec.ops).map(([n, s]) => [s.code, n]));
    opIndex.set(codec, m);
  }
  return m.get(code);
}

/**
 * Decodes words into a command. An unknown opcode or a bit set outside every field is a
 * `RangeError` naming the word and bits.
 */
export function cmdDecode(codec: Codec, words: readonly bigint[]): CmdLike {
  const code = codec.opcodeOf(words);
  const op = opByCode(codec, code);
  if (!op) throw new RangeError(`Cannot decode ${codec.family}: unknown opcode ${hex(code)}`);
  const spec = codec.ops[op];
  const cmd: { op: string; [field: string]: FieldValue | string } = { op };
  const used: bigint[] = new Array(codec.words).fill(0n);
  for (const [name, f] of Object.entries(spec.fields)) {
    const raw = fieldGet(words[f.word], f.hi, f.lo);
    used[f.word] |= genmask(f.hi, f.lo);
    switch (f.kind) {
      case "flag":
        cmd[name] = raw === 1n;
        break;
      case "addr":
        cmd[name] = raw << BigInt(f.lo);
        break;
      case "u64":
        cmd[name] = raw;
        break;
      default:
        cmd[name] = Number(raw);
    }
  }
  const opMask = codecOpcodeMask(codec);
  for (let i = 0; i < codec.words; i++) {
    const stray = words[i] & ~used[i] & ~opMask[i];
    if (stray !== 0n) {
      throw new RangeError(
        `Cannot decode ${op}: bits ${hex(stray)} of word ${i} are not part of any field`,
      );
    }
  }
  return cmd;
}

const opMasks = new WeakMap<Codec, bigint[]>();

function codecOpcodeMask(codec: Codec): bigint[] {
  let m = opMasks.get(codec);
  if (!m) {
    // The opcode field is where an all-ones opcode lands.
    m = codec.opcodeWords(0xffffffff);
    opMasks.set(codec, m);
  }
  return m;
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

/** Field names of an opcode in canonical order. */
export function opFields(codec: Codec, op: string): string[] {
  return Object.keys(codec.ops[op]?.fields ?? {});
}
