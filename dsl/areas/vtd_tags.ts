/**
 * `cache_tags:` expectations: a VT-d domain's cache-tag list after the step, in list order
 * (which is flush order). One line per tag, the cache it names first:
 *
 * ```yaml
 * cache_tags:
 *   d1:
 *     - IOTLB iommu=dmar1 did=7          # the IOTLB of dmar1, domain id 7
 *     - DEVTLB dev=gpu0 did=7            # gpu0's device TLB
 *     - IOTLB iommu=dmar0 did=5 users=2  # two RIDs behind dmar0 share one IOTLB tag
 *     - DEVTLB dev=nic0 did=5 pasid=0x10
 * ```
 *
 * IOTLB-type tags (`IOTLB`, `NESTING_IOTLB`) name their unit with `iommu=` (optional in an
 * expectation), device-TLB tags (`DEVTLB`, `NESTING_DEVTLB`) their endpoint with `dev=`;
 * `did=` is required, `pasid=` defaults to 0 and `users=` to 1.
 * @module
 */

import { CACHE_TAG_TYPES, type CacheTag, type CacheTagType } from "../../lib/drivers/intel/mod.ts";
import { parseU64 } from "../../lib/num.ts";
import { suggest } from "../../lib/suggest.ts";
import { type ExpectCtx, specError } from "../expect.ts";
import type { ExpectExt, Mismatch } from "../expect_ext.ts";
import type { SpecPath } from "../types.ts";
import { diffLines, type ExpectedLine, parseLines, splitLine } from "./vtd_line_list.ts";

/** One expected tag. */
interface TagLine extends ExpectedLine {
  readonly type: CacheTagType;
  readonly where?: string;
  readonly did: number;
  readonly pasid: number;
  readonly users: number;
}

/** The expected tags of one domain. */
interface DomainTags {
  readonly lines: readonly TagLine[];
  readonly path: SpecPath;
}

const isDevtlb = (t: CacheTagType) => t === "DEVTLB" || t === "NESTING_DEVTLB";
const LIMITS = { did: 0xffff, pasid: 0xfffff, users: 0xffffffff } as const;

/** The canonical line of a tag. */
export function formatCacheTag(tag: CacheTag): string {
  let s = tag.dev ? `${tag.type} dev=${tag.dev.name}` : `${tag.type} iommu=${tag.iommu.name}`;
  s += ` did=${tag.domainId}`;
  if (tag.pasid !== 0) s += ` pasid=0x${tag.pasid.toString(16)}`;
  if (tag.users !== 1) s += ` users=${tag.users}`;
  return s;
}

// The name a tag line gives (`iommu=` or `dev=`), checked against the declarations.
function whereProblem(ctx: ExpectCtx, key: string, v: string): string | undefined {
  const names = key === "iommu"
    ? Object.keys(ctx.iommus).filter((n) => ctx.iommus[n] === "vtd")
    : ctx.names.devices ?? [];
  if (names.includes(v)) return;
  const near = suggest(v, names);
  return `no ${key === "iommu" ? "VT-d unit" : "device"} named "${v}"` +
    (near ? `; did you mean "${near}"?` : "");
}

function parseTag(ctx: ExpectCtx, text: string): Omit<TagLine, keyof ExpectedLine> | string {
  const r = splitLine(text);
  if (typeof r === "string") return r;
  const type = r.head as CacheTagType;
  if (!CACHE_TAG_TYPES.includes(type)) {
    const near = suggest(r.head, CACHE_TAG_TYPES);
    return `unknown tag type "${r.head}"` + (near ? `; did you mean "${near}"?` : "");
  }
  const whereKey = isDevtlb(type) ? "dev" : "iommu";
  const out = { type, where: undefined as string | undefined, did: -1, pasid: 0, users: 1 };
  for (const [k, v] of r.fields) {
    if (k === whereKey) {
      const p = whereProblem(ctx, k, v);
      if (p) return p;
      out.where = v;
    } else if (k === "did" || k === "pasid" || k === "users") {
      const n = parseU64(v);
      if (typeof n === "string" || n > BigInt(LIMITS[k])) return `${k}: cannot read "${v}"`;
      out[k] = Number(n);
    } else {
      return `unknown field "${k}"; ${type} tags take ${whereKey}, did, pasid, users`;
    }
  }
  if (out.did < 0) return "missing did=";
  if (isDevtlb(type) && out.where === undefined) return `missing dev=; a ${type} tag is per device`;
  return out;
}

function tagMatches(e: TagLine, t: CacheTag): boolean {
  if (e.type !== t.type || e.did !== t.domainId || e.pasid !== t.pasid) return false;
  if (e.users !== t.users) return false;
  return e.where === undefined || e.where === (t.dev ? t.dev.name : t.iommu.name);
}

/** The `cache_tags` expectation key. */
export const CACHE_TAGS_EXPECT: ExpectExt = {
  doc: "VT-d cache tags per domain, in list order: `IOTLB iommu=dmar0 did=5`, " +
    "`DEVTLB dev=nic0 did=5 [pasid=N] [users=N]`",
  parse(raw, path, ctx) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      specError(ctx, path, "Cannot read cache_tags: expected { <domain>: [tag lines] }");
      return;
    }
    const out: Record<string, DomainTags> = {};
    let ok = true;
    for (const [dom, list] of Object.entries(raw)) {
      const domains = ctx.names.domains ?? [];
      if (!domains.includes(dom)) {
        const near = suggest(dom, domains);
        specError(ctx, [...path, dom], `Cannot read cache_tags: no domain named "${dom}"`, {
          key: true,
          label: near ? `did you mean "${near}"?` : undefined,
        });
        ok = false;
        continue;
      }
      const lines = parseLines(ctx, list, {
        key: "cache_tags",
        item: "cache tag",
        parse: (text) => parseTag(ctx, text),
        path: [...path, dom],
      });
      if (lines) out[dom] = { lines, path: [...path, dom] };
      else ok = false;
    }
    return ok ? out : undefined;
  },
  check(world, parsed) {
    const out: Mismatch[] = [];
    for (const [dom, want] of Object.entries(parsed as Record<string, DomainTags>)) {
      const d = world.vtd?.domains.get(dom);
      if (!d) {
        out.push({ path: want.path, title: `cache_tags: "${dom}" is not a VT-d domain` });
        continue;
      }
      const m = diffLines(want.lines, d.cacheTags, {
        same: (e, t) => tagMatches(want.lines[e], t),
        show: formatCacheTag,
        title: `the cache tags of ${dom} differ (${d.cacheTags.length} tags)`,
        path: want.path,
      });
      if (m) out.push(m);
    }
    return out;
  },
};
