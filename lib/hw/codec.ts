/**
 * Table-driven codec for fixed-size hardware commands (SMMUv3 command-queue entries,
 * VT-d queued-invalidation descriptors): typed values and bit-exact encode/decode to 64-bit
 * words. The canonical one-line text form is in `cmd_text.ts`.
 *
 * A command family is a table: opcode name → opcode value and named fields, each with its
 * bit position, kind and default. Types of the command values are derived from the table,
 * so the table is the one place a field is declared.
 * @module
 */

import { fieldGet, genmask, hex } from "../bits.ts";

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

function width(f: FieldSpec): number {
  return f.hi - f.lo + 1;
}

/** The value a field takes when nothing sets it (its `def`, else zero / false). */
export function defaultOf(f: FieldSpec): FieldValue {
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

/** Field names of an opcode in canonical order. */
export function opFields(codec: Codec, op: string): string[] {
  return Object.keys(codec.ops[op]?.fields ?? {});
}
