/**
 * Renders a diagnostic the way Hurl and rustc do: title, `--> file:line:col`, the source
 * line(s) with a gutter, carets under the span, then detail lines and a fixme.
 * @module
 */

import type { Diagnostic } from "./types.ts";

/** Colour hooks; identity functions when colour is off. */
export interface Paint {
  /** Errors and failures. */
  readonly red: (s: string) => string;
  /** Positions and gutters. */
  readonly blue: (s: string) => string;
  /** Additions in diffs. */
  readonly green: (s: string) => string;
  /** Secondary text. */
  readonly dim: (s: string) => string;
  /** Titles. */
  readonly bold: (s: string) => string;
  /** Warnings. */
  readonly yellow: (s: string) => string;
}

const plain = (s: string) => s;
/** No colour at all. */
export const NO_PAINT: Paint = {
  red: plain,
  blue: plain,
  green: plain,
  dim: plain,
  bold: plain,
  yellow: plain,
};

/**
 * Renders one diagnostic as lines of text. `sources` maps file names to their text for the
 * code frame; without a text the frame is left out.
 */
export function renderDiagnostic(
  d: Diagnostic,
  sources: ReadonlyMap<string, string>,
  paint: Paint = NO_PAINT,
): string[] {
  const word = d.severity === "fail" ? "fail" : d.severity === "warning" ? "warning" : "error";
  const colour = d.severity === "warning" ? paint.yellow : paint.red;
  const out = [`${colour(paint.bold(word))}${paint.bold(": " + d.title)}`];
  const r = d.range;
  if (r) {
    out.push(`  ${paint.blue("-->")} ${r.file}:${r.start.line}:${r.start.col}`);
    const text = sources.get(r.file);
    const lines = text ? text.split("\n") : [];
    const src = lines[r.start.line - 1];
    if (src !== undefined) {
      const w = String(r.start.line).length;
      const gutter = (n: string) => paint.blue(`${n.padStart(w)} |`);
      out.push(`${" ".repeat(w + 1)}${gutter("").trimStart()}`);
      const prev = lines[r.start.line - 2];
      if (prev !== undefined && d.severity === "fail" && prev.trim() !== "") {
        out.push(`${gutter(String(r.start.line - 1))} ${prev}`);
      }
      out.push(`${gutter(String(r.start.line))} ${src}`);
      const endCol = r.end.line === r.start.line ? r.end.col : src.length + 1;
      const n = Math.max(1, endCol - r.start.col);
      const carets = " ".repeat(r.start.col - 1) + "^".repeat(n);
      out.push(`${gutter("")} ${colour(carets)}${d.label ? " " + colour(d.label) : ""}`);
    } else if (d.label) {
      out.push(`   ${d.label}`);
    }
  }
  for (const line of d.detail ?? []) out.push(`   ${line}`);
  if (d.fixme) out.push(`   ${paint.blue("=")} ${d.fixme}`);
  return out;
}
