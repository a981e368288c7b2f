/**
 * An ordered list of expected one-line items (cache tags, trace events) compared with what
 * the model holds or recorded: the same sequence alignment and `- expected / + actual`
 * listing as command lists, with the spec line of each expected item.
 * @module
 */

import { align, renderAlign } from "../diff.ts";
import type { Mismatch } from "../expect_ext.ts";
import { type ExpectCtx, specError } from "../expect.ts";
import type { SpecPath } from "../types.ts";

/** One expected item as written. */
export interface ExpectedLine {
  /** The text as written (trimmed). */
  readonly text: string;
  /** Its spec line, shown in the diff. */
  readonly line: number;
  /** Its YAML path. */
  readonly path: SpecPath;
}

/** Where an expected item is, read at parse time (the check has no locator). */
export function expectedLine(ctx: ExpectCtx, text: string, path: SpecPath): ExpectedLine {
  return { text: text.trim(), line: ctx.locator.at(path).start.line, path };
}

const PLAIN = { del: (s: string) => s, add: (s: string) => s, dim: (s: string) => s };

/** How {@link diffLines} compares and prints. */
export interface DiffLinesOptions<A> {
  /** Whether expected item `e` describes actual item `a`. */
  same(e: number, a: A): boolean;
  /** Canonical text of an actual item. */
  show(a: A): string;
  /** First line of the mismatch. */
  readonly title: string;
  /** Where to point when the expected list is empty. */
  readonly path: SpecPath;
}

/** The mismatch between `want` and `actual` in order, or undefined when they agree. */
export function diffLines<A>(
  want: readonly ExpectedLine[],
  actual: readonly A[],
  o: DiffLinesOptions<A>,
): Mismatch | undefined {
  const ops = align(want.length, actual.length, (e, a) => o.same(e, actual[a]));
  if (ops.every((op) => op.kind === "same")) return undefined;
  const detail = renderAlign(ops, {
    expected: (e) => ({ text: want[e].text, line: want[e].line }),
    actual: (a) => o.show(actual[a]),
    fields: () => [],
  }, PLAIN);
  const del = ops.find((op) => op.kind === "del") as { e: number } | undefined;
  return {
    path: del ? want[del.e].path : want.at(-1)?.path ?? o.path,
    title: o.title,
    detail: ["diff (- expected, + actual):", ...detail.map((l) => "  " + l)],
  };
}

/** Splits `name k=v k=v` into its head and fields; a token without `=` is an error text. */
export function splitLine(
  text: string,
): { head: string; fields: [string, string][] } | string {
  const [head = "", ...rest] = text.trim().split(/\s+/);
  const fields: [string, string][] = [];
  for (const tok of rest) {
    const i = tok.indexOf("=");
    if (i <= 0 || i === tok.length - 1) return `expected field=value, got "${tok}"`;
    fields.push([tok.slice(0, i), tok.slice(i + 1)]);
  }
  return { head, fields };
}

/** What {@link parseLines} reads and how it names it in messages. */
export interface ParseLinesOptions<T> {
  /** The expectation key (`cache_tags`), for the not-a-list message. */
  readonly key: string;
  /** What one line is (`cache tag`, `trace event`). */
  readonly item: string;
  /** Reads one line; a string is the problem ("title; caret label"). */
  parse(text: string): T | string;
}

/**
 * Reads a list of one-line items; every bad line is a diagnostic at its position. Returns
 * the items with their positions, or undefined when any is bad.
 */
export function parseLines<T>(
  ctx: ExpectCtx,
  raw: unknown,
  o: ParseLinesOptions<T> & { readonly path: SpecPath },
): (T & ExpectedLine)[] | undefined {
  if (!Array.isArray(raw) || !raw.every((x) => typeof x === "string")) {
    specError(ctx, o.path, `Cannot read ${o.key}: expected a list of ${o.item} lines`);
    return;
  }
  const out: (T & ExpectedLine)[] = [];
  raw.forEach((text: string, i) => {
    const r = o.parse(text);
    if (typeof r === "string") {
      const [title, label] = r.split("; ");
      specError(ctx, [...o.path, i], `Cannot read ${o.item}: ${title}`, { label });
    } else out.push({ ...r, ...expectedLine(ctx, text, [...o.path, i]) });
  });
  return out.length === raw.length ? out : undefined;
}
