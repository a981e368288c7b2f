/**
 * Shared fast-check arbitraries for the page-table tests: random map/unmap sequences in a
 * small IOVA window (two 1G regions) so that tables are shared, emptied, replaced by blocks
 * and freed; checkers for the invariants every step must keep; readers of results.
 * @module
 */

import assert from "node:assert/strict";
import { type Event, type EventLog, eventLogCreate } from "../../../lib/events.ts";
import type { GatherSnapshot } from "../../../lib/pgtable/gather.ts";
import fc from "fast-check";
import {
  blockSize,
  type IoPgtable,
  ioPgtableAlloc,
  type IoPgtableAllocOptions,
  ptesInTable,
  SZ_1G,
  SZ_2M,
  SZ_4K,
} from "../../../lib/pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../../../lib/pgtable/steps.ts";
import { ioPgtableLeaves, ioPgtableLinkedTables } from "../../../lib/pgtable/walk.ts";

/** Output addresses sit 4G above the input ones, so alignment carries over. */
export const PA_OFFSET = 0x1_0000_0000n;

/** One operation of a random scenario. */
export type PtOp =
  | {
    readonly kind: "map";
    /** 0: the region at 0, 1: the region at 1G. */
    readonly region: number;
    readonly unit: "4K" | "2M" | "1G";
    /** Position in units inside the region's first 4M (4K, 2M) or the region itself (1G). */
    readonly pos: number;
    readonly count: number;
    /** 4K pages prepended, so one map mixes page sizes. */
    readonly extra: number;
    /** Output address 4K off the input alignment: only 4K pages fit. */
    readonly misaligned: boolean;
  }
  | { readonly kind: "unmap"; readonly pick: number }
  | { readonly kind: "fq_flush" };

/** A map or an unmap, weighted towards maps. */
export const arbPtOp: fc.Arbitrary<PtOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("map" as const),
      region: fc.integer({ min: 0, max: 1 }),
      unit: fc.constantFrom("4K" as const, "2M" as const, "1G" as const),
      pos: fc.integer({ min: 0, max: 1023 }),
      count: fc.integer({ min: 1, max: 3 }),
      extra: fc.integer({ min: 0, max: 2 }),
      misaligned: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unmap" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "fq_flush" as const }) },
);

/** A mapping the reference model holds. */
export interface Mapping {
  readonly iova: bigint;
  readonly size: bigint;
  readonly paddr: bigint;
}

/** The range and output address a map op asks for. */
export function mapOpRange(op: Extract<PtOp, { kind: "map" }>): Mapping {
  const regionBase = BigInt(op.region) * SZ_1G;
  let iova: bigint;
  let size: bigint;
  if (op.unit === "1G") {
    iova = regionBase;
    size = SZ_1G;
  } else {
    const unit = op.unit === "4K" ? SZ_4K : SZ_2M;
    iova = regionBase + BigInt(op.pos % (op.unit === "4K" ? 1024 : 2)) * unit;
    size = BigInt(op.count) * unit;
  }
  const extra = op.unit === "1G" ? 0n : BigInt(op.extra) * SZ_4K;
  if (iova >= extra) {
    iova -= extra;
    size += extra;
  }
  const skew = op.misaligned && op.unit !== "1G" ? SZ_4K : 0n;
  return { iova, size, paddr: iova + PA_OFFSET + skew };
}

/** True if `[a.iova, a.iova + a.size)` meets `[b.iova, b.iova + b.size)`. */
export function overlaps(a: Omit<Mapping, "paddr">, b: Omit<Mapping, "paddr">): boolean {
  return a.iova < b.iova + b.size && b.iova < a.iova + a.size;
}

/** The table translates exactly the mappings: every leaf inside one, sizes adding up. */
export function assertLeavesMatch(pt: IoPgtable, live: readonly Mapping[]): void {
  let total = 0n;
  for (const leaf of ioPgtableLeaves(pt)) {
    const m = live.find((r) => leaf.iova >= r.iova && leaf.iova + leaf.size <= r.iova + r.size);
    assert.ok(m, `leaf at 0x${leaf.iova.toString(16)} belongs to no mapping`);
    assert.equal(leaf.oa, m.paddr + (leaf.iova - m.iova));
    total += leaf.size;
  }
  assert.equal(total, live.reduce((s, r) => s + r.size, 0n));
}

/** Every allocated table is reachable: nothing leaked, nothing freed still linked. */
export function assertNoLeakedTables(pt: IoPgtable): void {
  const linked = ioPgtableLinkedTables(pt);
  assert.deepEqual([...pt.tables.keys()].sort((a, b) => a - b), [...linked].sort((a, b) => a - b));
}

/** The ranges the requests in `steps` invalidate, `[start, end]` inclusive. */
export function requestRanges(steps: readonly PtStep[]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const s of steps) {
    if (s.op === "flush_walk") out.push([s.iova, s.iova + s.size - 1n]);
    else if (s.op === "iotlb_sync" && s.gather.end >= s.gather.start) {
      out.push([s.gather.start, s.gather.end]);
    } else if (s.op === "flush_all") out.push([0n, (1n << 64n) - 1n]);
  }
  return out;
}

/** True if the union of `ranges` covers `[start, end]`. */
export function covered(ranges: readonly [bigint, bigint][], start: bigint, end: bigint): boolean {
  let at = start;
  for (const [s, e] of [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (s > at) break;
    if (e >= at) at = e + 1n;
    if (at > end) return true;
  }
  return at > end;
}

/**
 * No table page is freed before a request that invalidates walks (a `flush_walk`, an
 * `iotlb_sync` carrying a freelist, or a flush-all) has covered its whole span after it was
 * unlinked. `spans` keeps each table's input range across calls, from its `table_alloc`.
 */
export function assertTablesFreedSafely(
  pt: IoPgtable,
  steps: readonly PtStep[],
  spans: Map<number, [bigint, bigint]>,
): void {
  for (const [i, s] of steps.entries()) {
    if (s.op === "table_alloc") {
      const bytes = BigInt(ptesInTable(pt, s.level)) * blockSize(pt, s.level);
      spans.set(s.table, [s.base, s.base + bytes - 1n]);
    }
    if (s.op !== "table_free") continue;
    const span = spans.get(s.table);
    assert.ok(span, `table ${s.table} freed but never seen allocated`);
    const unlinkAt = steps.findLastIndex((u, j) =>
      j < i && u.op === "table_clear" && u.iova <= span[0] && u.iova + u.size - 1n >= span[1]
    );
    const walkFlush = steps.slice(unlinkAt + 1, i).filter((u) =>
      u.op === "flush_walk" || u.op === "flush_all" ||
      (u.op === "iotlb_sync" && !u.gather.freelistEmpty)
    );
    assert.ok(
      covered(requestRanges(walkFlush), span[0], span[1]),
      `table ${s.table} freed before its walks were flushed`,
    );
  }
}

/** The WARNs in `events`, as "fn: what". */
export function warns(events: readonly Event[]): string[] {
  return events.flatMap((e) => e.kind === "warn" ? [`${e.fn}: ${e.what}`] : []);
}

/** The gathers the driver's iotlb_sync received, in order. */
export function gathers(steps: readonly PtStep[]): GatherSnapshot[] {
  return ptRequests(steps).flatMap((r) => r.op === "iotlb_sync" ? [r.gather] : []);
}

/** A fresh page table (S1, 4K|2M|1G unless overridden) on its own log. */
export function allocPt(
  opts: Partial<IoPgtableAllocOptions> = {},
): { log: EventLog; pt: IoPgtable } {
  const log = eventLogCreate();
  return { log, pt: ioPgtableAlloc(log, { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G, ...opts }) };
}
