/**
 * Which scenarios run: `--filter` on the full name, `--tag` expressions, `only:`, and
 * `--shard i/n` at scenario granularity.
 * @module
 */

import type { Scenario } from "./suite.ts";

/** Selection options as the CLI parsed them. */
export interface Selection {
  /** Substring, or `/regex/`, matched against `file › name [cell]`. */
  readonly filter?: string;
  /** Each entry is `a,!b` (AND); entries are ORed. */
  readonly tags?: readonly string[];
  /** 1-based shard index and count. */
  readonly shard?: { readonly index: number; readonly count: number };
}

function filterMatches(filter: string, name: string): boolean {
  const m = /^\/(.*)\/([a-z]*)$/.exec(filter);
  return m ? new RegExp(m[1], m[2]).test(name) : name.includes(filter);
}

function tagsMatch(exprs: readonly string[], tags: readonly string[]): boolean {
  return exprs.some((expr) =>
    expr.split(",").map((t) => t.trim()).filter(Boolean).every((t) =>
      t.startsWith("!") ? !tags.includes(t.slice(1)) : tags.includes(t)
    )
  );
}

/** Applies filter, tags and `only:`; then the shard. Order: file, scenario, cell. */
export function selectScenarios(all: readonly Scenario[], sel: Selection): Scenario[] {
  let out = all.filter((s) =>
    (!sel.filter || filterMatches(sel.filter, s.fullName)) &&
    (!sel.tags?.length || tagsMatch(sel.tags, s.spec.head.tags ?? []))
  );
  if (out.some((s) => s.spec.head.only)) out = out.filter((s) => s.spec.head.only);
  if (sel.shard) {
    const { index, count } = sel.shard;
    out = [...out]
      .sort((a, b) => a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0)
      .filter((_, i) => i % count === index - 1);
  }
  return out;
}

/** Parses `--shard i/n`, or returns why it is not valid. */
export function parseShard(text: string): { index: number; count: number } | string {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return `--shard takes i/n, e.g. 1/4, not "${text}"`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) return `--shard ${text}: need 1 <= i <= n`;
  return { index, count };
}
