/**
 * What the stale-translation check reports: a cached entry that disagrees with the tables
 * (in an IOTLB, a walk or paging-structure cache, a configuration, context or PASID cache,
 * or a device's ATC / device TLB), or a command-order rule broken on a queue. Each finding
 * has a one-line canonical form, `KIND owner field=value ...`, that a spec writes to pin a
 * finding it expects (any subset of the fields; unwritten fields match anything), e.g.
 * `ATC nic0 pasid=3 iova=0x41000`.
 * @module
 */

import { formatSize, parseU64 } from "../num.ts";
import { suggest } from "../suggest.ts";

/**
 * Kinds of finding: a cache with a stale entry, or a broken ordering rule. SMMUv3: IOTLB,
 * WALK (walk cache), STE, CD, ATC. VT-d: IOTLB, PSC (paging-structure caches), PASID (PASID
 * cache), CONTEXT (context cache), DEVTLB (a device TLB).
 */
export const FINDING_KINDS = [
  "IOTLB",
  "WALK",
  "STE",
  "CD",
  "ATC",
  "PSC",
  "PASID",
  "CONTEXT",
  "DEVTLB",
  "UNSYNCED",
  "ORDER",
] as const;
/** One kind. */
export type FindingKind = typeof FINDING_KINDS[number];

/** A field value: numbers are bigint, names are strings. */
export type FindingValue = bigint | string;

/** One finding. */
export interface Finding {
  /** Which cache, or which rule. */
  readonly kind: FindingKind;
  /** The IOMMU (caches, queues) or device (ATC) it concerns. */
  readonly owner: string;
  /** Fields a pin line can match, in canonical order. */
  readonly fields: Readonly<Record<string, FindingValue>>;
  /** Fields the suggested pin line shows. */
  readonly key: readonly string[];
  /** What is wrong, one clause: "ATC of nic0 (sid 0x10, PASID 3) still maps ...". */
  readonly what: string;
  /** How to fix it, one clause: "ATC_INV ... would remove it". */
  readonly fix: string;
  /** Index of the step after which a cached entry was first stale. */
  readonly since?: number;
  /** More lines: what memory says now, how the entry got there. */
  readonly notes: readonly string[];
}

/** A pin line as read: kind, owner, and the fields it wrote (as text). */
export interface FindingPattern {
  /** Kind. */
  readonly kind: FindingKind;
  /** Owner name. */
  readonly owner: string;
  /** Written fields. */
  readonly fields: Readonly<Record<string, string>>;
}

const HEX = new Set(["sid", "iova", "pa", "table"]);

/** A field value as a pin line writes it: addresses and StreamIDs in hex, sizes as 4K/2M. */
export function findingFieldText(name: string, v: FindingValue): string {
  if (typeof v === "string") return v;
  if (name === "size") return formatSize(v);
  return HEX.has(name) ? "0x" + v.toString(16) : v.toString();
}

/** The canonical line of a finding: every field, or only its key fields with `short`. */
export function findingLine(f: Finding, opts: { readonly short?: boolean } = {}): string {
  const names = opts.short ? f.key : Object.keys(f.fields);
  const parts = [f.kind, f.owner];
  for (const n of names) {
    if (n in f.fields) parts.push(`${n}=${findingFieldText(n, f.fields[n])}`);
  }
  return parts.join(" ");
}

/** Reads a pin line; a problem is returned as text. */
export function findingParse(text: string): FindingPattern | string {
  const [kind, owner, ...rest] = text.trim().split(/\s+/);
  if (!(FINDING_KINDS as readonly string[]).includes(kind)) {
    const near = suggest(kind ?? "", FINDING_KINDS);
    return `unknown kind "${kind ?? ""}"` + (near ? `; did you mean "${near}"?` : "") +
      `; kinds are ${FINDING_KINDS.join(", ")}`;
  }
  if (!owner || owner.includes("=")) return `${kind} needs the IOMMU or device it is about`;
  const fields: Record<string, string> = {};
  for (const tok of rest) {
    const i = tok.indexOf("=");
    if (i <= 0 || i === tok.length - 1) return `expected field=value, got "${tok}"`;
    const name = tok.slice(0, i);
    const value = tok.slice(i + 1);
    const bad = fieldValueProblem(name, value);
    if (bad) return `field "${name}": ${bad}`;
    fields[name] = value;
  }
  return { kind: kind as FindingKind, owner, fields };
}

// Fields whose values are names; `pasid` may also be `none` (no PASID).
const NAME_FIELDS = new Set(["regime", "stage", "op", "after"]);

function fieldValueProblem(name: string, value: string): string | undefined {
  if (NAME_FIELDS.has(name) || (name === "pasid" && value === "none")) return undefined;
  const n = parseU64(value);
  return typeof n === "bigint" ? undefined : `"${value}": ${n}`;
}

function sameValue(want: string, v: FindingValue): boolean {
  if (typeof v === "string") return want === v;
  const n = parseU64(want);
  return typeof n === "bigint" && n === v;
}

/** Whether a finding has the pattern's kind, owner and every written field. */
export function findingMatches(p: FindingPattern, f: Finding): boolean {
  if (p.kind !== f.kind || p.owner !== f.owner) return false;
  for (const [k, want] of Object.entries(p.fields)) {
    if (!(k in f.fields) || !sameValue(want, f.fields[k])) return false;
  }
  return true;
}
