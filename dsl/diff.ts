/**
 * Sequence alignment of expected and actual commands (longest common subsequence via
 * `npm:diff`) and its rendering as a `- expected / + actual` listing with field-level
 * detail for changed commands.
 * @module
 */

import { diffArrays } from "diff";

/** One step of an alignment: both sides agree, or one side only. */
export type AlignOp =
  | { readonly kind: "same"; readonly e: number; readonly a: number }
  | { readonly kind: "del"; readonly e: number }
  | { readonly kind: "add"; readonly a: number };

type Item = { readonly side: "e" | "a"; readonly i: number };

/** Aligns `ne` expected items with `na` actual ones; `same(e, a)` says whether they match. */
export function align(ne: number, na: number, same: (e: number, a: number) => boolean): AlignOp[] {
  const es: Item[] = Array.from({ length: ne }, (_, i) => ({ side: "e", i }));
  const as: Item[] = Array.from({ length: na }, (_, i) => ({ side: "a", i }));
  const changes = diffArrays<Item>(es, as, {
    comparator: (l: Item, r: Item) => {
      const e = l.side === "e" ? l : r;
      const a = l.side === "a" ? l : r;
      return e.side === "e" && a.side === "a" && same(e.i, a.i);
    },
  });
  const out: AlignOp[] = [];
  let ei = 0;
  let ai = 0;
  for (const c of changes) {
    for (let k = 0; k < (c.count ?? c.value.length); k++) {
      if (c.added) out.push({ kind: "add", a: ai++ });
      else if (c.removed) out.push({ kind: "del", e: ei++ });
      else out.push({ kind: "same", e: ei++, a: ai++ });
    }
  }
  return out;
}

/** How one side of the listing is printed. */
export interface DiffText {
  /** Expected line `e` as written, and its spec line number. */
  expected(e: number): { readonly text: string; readonly line: number };
  /** Actual command `a` in canonical text. */
  actual(a: number): string;
  /** Field differences when expected `e` and actual `a` are the same opcode, else []. */
  fields(e: number, a: number): readonly string[];
}

/** Colour hooks for the listing. */
export interface DiffPaint {
  readonly del: (s: string) => string;
  readonly add: (s: string) => string;
  readonly dim: (s: string) => string;
}

/**
 * Renders an alignment: unchanged runs longer than 2 × `context` are collapsed; a deleted
 * line directly followed by an added line of the same opcode shows its field changes.
 */
export function renderAlign(
  ops: readonly AlignOp[],
  text: DiffText,
  paint: DiffPaint,
  context = 3,
): string[] {
  const out: string[] = [];
  const w = Math.max(
    3,
    ...ops.filter((o) => o.kind !== "add").map((o) =>
      `L${text.expected((o as { e: number }).e).line}`.length
    ),
  );
  const pad = " ".repeat(w);
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    if (o.kind === "same") {
      let j = i;
      while (j < ops.length && ops[j].kind === "same") j++;
      const run = ops.slice(i, j) as { e: number; a: number }[];
      const keep = i === 0 || j === ops.length ? context : 2 * context;
      if (run.length > keep + 1) {
        const head = i === 0 ? [] : run.slice(0, context);
        const tail = j === ops.length ? [] : run.slice(-context);
        for (const r of head) out.push(paint.dim(`${pad}   ${text.actual(r.a)}`));
        out.push(paint.dim(`${pad}   … ${run.length - head.length - tail.length} matching`));
        for (const r of tail) out.push(paint.dim(`${pad}   ${text.actual(r.a)}`));
      } else {
        for (const r of run) out.push(paint.dim(`${pad}   ${text.actual(r.a)}`));
      }
      i = j - 1;
    } else if (o.kind === "del") {
      const ex = text.expected(o.e);
      out.push(paint.del(`${`L${ex.line}`.padStart(w)} - ${ex.text}`));
      const next = ops[i + 1];
      if (next?.kind === "add") {
        const f = text.fields(o.e, next.a);
        const act = text.actual(next.a);
        out.push(
          paint.add(`${pad} + ${act}`) + (f.length ? paint.dim(`    (${f.join(", ")})`) : ""),
        );
        i++;
      }
    } else {
      out.push(paint.add(`${pad} + ${text.actual(o.a)}`));
    }
  }
  return out;
}
