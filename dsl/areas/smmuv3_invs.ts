/**
 * `invs:` expectations: a domain's invalidation array after the step, entry by entry, trash
 * included. One line per entry: `TYPE id=N [ssid=N] [users=N | trash] [smmu=NAME]`, e.g.
 * `S1_ASID id=1 users=2`, `ATS id=0x10 ssid=3`, `ATS id=0x11 trash`.
 * @module
 */

import { type Inv, INV_TYPES, type InvType } from "../../lib/drivers/arm-smmu-v3/invs.ts";
import { parseU64 } from "../../lib/num.ts";
import { suggest } from "../../lib/suggest.ts";
import { align, renderAlign } from "../diff.ts";
import { specError } from "../expect.ts";
import type { ExpectExt, Mismatch } from "../expect_ext.ts";
import type { SpecPath } from "../types.ts";

/** One expected entry. */
interface InvLine {
  readonly type: InvType;
  readonly id: number;
  readonly ssid: number;
  readonly users: number;
  readonly smmu?: string;
  readonly path: SpecPath;
}

const isAts = (t: InvType) => t === "ATS" || t === "ATS_FULL";

/** The canonical line of an entry. */
export function formatInv(inv: Inv, withSmmu: boolean): string {
  const id = isAts(inv.type) ? `0x${inv.id.toString(16)}` : String(inv.id);
  let s = `${inv.type} id=${id}`;
  if (isAts(inv.type) && inv.ssid !== 0) s += ` ssid=${inv.ssid}`;
  if (inv.users === 0) s += " trash";
  else if (inv.users !== 1) s += ` users=${inv.users}`;
  if (withSmmu) s += ` smmu=${inv.smmu.name}`;
  return s;
}

function parseLine(text: string): Omit<InvLine, "path"> | string {
  const [head, ...rest] = text.trim().split(/\s+/);
  if (!(INV_TYPES as readonly string[]).includes(head)) {
    const near = suggest(head, INV_TYPES);
    return `unknown entry type "${head}"` + (near ? `; did you mean "${near}"?` : "");
  }
  const e = {
    type: head as InvType,
    id: -1,
    ssid: 0,
    users: 1,
    smmu: undefined as string | undefined,
  };
  for (const tok of rest) {
    if (tok === "trash") {
      e.users = 0;
      continue;
    }
    const [k, v] = tok.split("=");
    if (k === "smmu" && v) {
      e.smmu = v;
      continue;
    }
    const n = v === undefined ? "missing value" : parseU64(v);
    if (typeof n === "string" || !["id", "ssid", "users"].includes(k)) {
      return typeof n === "string" && ["id", "ssid", "users"].includes(k)
        ? `${k}: ${n}`
        : `unknown field "${k}"; entries take id, ssid, users, trash, smmu`;
    }
    (e as Record<string, unknown>)[k] = Number(n);
  }
  if (e.id < 0) return `missing id=`;
  return e;
}

function same(e: InvLine, a: Inv): boolean {
  return e.type === a.type && e.id === a.id && e.ssid === (isAts(a.type) ? a.ssid : 0) &&
    e.users === a.users && (e.smmu === undefined || e.smmu === a.smmu.name);
}

/** The `invs` expectation key. */
export const INVS_EXPECT: ExpectExt = {
  doc: "invalidation array per domain: lines `TYPE id=N [ssid=N] [users=N | trash]`",
  parse(raw, path, ctx) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      specError(ctx, path, "Cannot read invs: expected { <domain>: [entry lines] }");
      return;
    }
    const out: Record<string, InvLine[]> = {};
    let ok = true;
    for (const [dom, list] of Object.entries(raw)) {
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) {
        specError(ctx, [...path, dom], `Cannot read invs.${dom}: expected a list of entry lines`);
        ok = false;
        continue;
      }
      out[dom] = [];
      list.forEach((text, i) => {
        const r = parseLine(text);
        if (typeof r === "string") {
          const [title, label] = r.split("; ");
          specError(ctx, [...path, dom, i], `Cannot read invalidation entry: ${title}`, { label });
          ok = false;
        } else out[dom].push({ ...r, path: [...path, dom, i] });
      });
    }
    return ok ? out : undefined;
  },
  check(world, parsed) {
    const want = parsed as Record<string, InvLine[]>;
    const out: Mismatch[] = [];
    const multi = new Set(Object.values(world.iommus).filter((i) => i.kind === "smmuv3")).size > 1;
    for (const [dom, lines] of Object.entries(want)) {
      const d = world.smmuv3?.domains.get(dom);
      if (!d || (d.type !== "paging" && d.type !== "sva")) {
        out.push({
          path: lines[0]?.path ?? [],
          title: `invs: "${dom}" is not an SMMUv3 paging or SVA domain`,
        });
        continue;
      }
      const actual = d.invs.inv.slice(0, d.invs.numInvs);
      const ops = align(lines.length, actual.length, (e, a) => same(lines[e], actual[a]));
      if (ops.every((o) => o.kind === "same")) continue;
      const first = ops.find((o) => o.kind === "del") as { e: number } | undefined;
      const detail = renderAlign(ops, {
        expected: (e) => ({
          text: formatInv({ ...actual[0], ...lines[e] } as Inv, false),
          line: 0,
        }),
        actual: (a) => formatInv(actual[a], multi),
        fields: () => [],
      }, { del: (s) => s, add: (s) => s, dim: (s) => s }).map((l) =>
        "  " + l.replace(/^\s*L0 /, "   ")
      );
      out.push({
        path: first ? lines[first.e].path : lines.at(-1)?.path ?? [],
        title: `the invalidation array of ${dom} differs (${actual.length} entries, ` +
          `${d.invs.numTrashes} trash)`,
        detail: ["diff (- expected, + actual):", ...detail],
      });
    }
    return out;
  },
};
