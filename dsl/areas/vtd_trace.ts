/**
 * `trace:` expectations: the VT-d trace events of the step, in order, one line each:
 * the event name, then the fields to compare (the others are not checked).
 *
 * ```yaml
 * trace:
 *   - cache_tag_flush_range dev=dmar1 domain_id=7 start=0x3000 end=0x4fff addr=0 mask=3
 *   - cache_tag_flush_range dev=gpu0 type=devtlb mask=3
 * ```
 *
 * Every `cache_tag_*` event of the step is compared (so `trace: []` says the step touched
 * no cache tag); other events (`qi_submit`, the register flushes `__iommu_flush_iotlb` /
 * `__iommu_flush_context`, `iommu_flush_write_buffer`) only when a line names them.
 * Field names are the kernel's trace fields (`domain_id`, `users`, `mask`, ...); numbers
 * may be written in decimal or hex.
 * @module
 */

import type { Event, TraceValue } from "../../lib/events.ts";
import { parseU64 } from "../../lib/num.ts";
import { suggest } from "../../lib/suggest.ts";
import type { ExpectExt } from "../expect_ext.ts";
import type { SpecPath } from "../types.ts";
import { diffLines, type ExpectedLine, parseLines, splitLine } from "./vtd_line_list.ts";

const TAG_FIELDS = ["iommu", "dev", "type", "domain_id", "pasid", "users"];
const FLUSH_FIELDS = ["iommu", "dev", "type", "domain_id", "pasid", "start", "end", "addr"];

/** The VT-d trace events and their fields (trace.h, plus the model's register flushes). */
export const VTD_TRACE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  cache_tag_assign: TAG_FIELDS,
  cache_tag_unassign: TAG_FIELDS,
  cache_tag_flush_all: TAG_FIELDS,
  cache_tag_flush_range: [...FLUSH_FIELDS, "pages", "mask"],
  cache_tag_flush_range_np: [...FLUSH_FIELDS, "pages", "mask"],
  qi_submit: ["type", "iommu", "qw0", "qw1", "qw2", "qw3"],
  __iommu_flush_iotlb: ["iommu", "did", "addr", "size_order", "gran"],
  __iommu_flush_context: ["iommu", "did", "sid", "fm", "gran"],
  iommu_flush_write_buffer: ["iommu"],
};

// Fields whose values are names; the others are numbers.
const TEXT_FIELDS = new Set(["iommu", "dev", "type"]);

type Want = string | bigint;

/** One expected event. */
interface TraceLine extends ExpectedLine {
  readonly name: string;
  readonly fields: Readonly<Record<string, Want>>;
}

/** What the key keeps between parse and check. */
interface TraceExpect {
  readonly lines: readonly TraceLine[];
  readonly path: SpecPath;
  readonly names: ReadonlySet<string>;
}

type TraceEvent = Extract<Event, { kind: "trace" }>;

/** The canonical line of a trace event (bigints in hex, as `--trace` prints them). */
export function formatTrace(e: TraceEvent): string {
  const kv = Object.entries(e.data).map(([k, v]) =>
    `${k}=${typeof v === "bigint" ? "0x" + v.toString(16) : v}`
  );
  return [e.name, ...kv].join(" ");
}

function parseTrace(text: string): Omit<TraceLine, keyof ExpectedLine> | string {
  const r = splitLine(text);
  if (typeof r === "string") return r;
  const known = VTD_TRACE_FIELDS[r.head];
  if (!known) {
    const near = suggest(r.head, Object.keys(VTD_TRACE_FIELDS));
    return `unknown trace event "${r.head}"` + (near ? `; did you mean "${near}"?` : "");
  }
  const fields: Record<string, Want> = {};
  for (const [k, v] of r.fields) {
    if (!known.includes(k)) {
      const near = suggest(k, known);
      return `${r.head} has no field "${k}"` +
        (near ? `; did you mean "${near}"?` : `; fields: ${known.join(", ")}`);
    }
    if (TEXT_FIELDS.has(k)) fields[k] = v;
    else {
      const n = parseU64(v);
      if (typeof n === "string") return `${k}: ${n}`;
      fields[k] = n;
    }
  }
  return { name: r.head, fields };
}

function valueMatches(want: Want, got: TraceValue | undefined): boolean {
  if (typeof want === "string") return want === String(got);
  return (typeof got === "number" || typeof got === "bigint") && BigInt(got) === want;
}

function traceMatches(e: TraceLine, a: TraceEvent): boolean {
  if (e.name !== a.name) return false;
  return Object.entries(e.fields).every(([k, v]) => valueMatches(v, a.data[k]));
}

/** The `trace` expectation key. */
export const TRACE_EXPECT: ExpectExt = {
  doc: "VT-d trace events of the step in order: `cache_tag_flush_range dev=nic0 mask=3` " +
    "(every cache_tag_* event, others when named)",
  parse(raw, path, ctx) {
    const lines = parseLines(ctx, raw, {
      key: "trace",
      item: "trace event",
      parse: parseTrace,
      path,
    });
    if (!lines) return;
    const expect: TraceExpect = { lines, path, names: new Set(lines.map((l) => l.name)) };
    return expect;
  },
  check(_world, parsed, _outcome, events) {
    const want = parsed as TraceExpect;
    const actual = events.filter((e): e is TraceEvent =>
      e.kind === "trace" && (e.name.startsWith("cache_tag_") || want.names.has(e.name))
    );
    const m = diffLines(want.lines, actual, {
      same: (e, a) => traceMatches(want.lines[e], a),
      show: formatTrace,
      title: `the trace events differ (${actual.length} compared)`,
      path: want.path,
    });
    return m ? [m] : [];
  },
};
