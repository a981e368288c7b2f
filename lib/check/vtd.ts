/**
 * The stale-translation check for a VT-d unit and the device TLBs behind it: every cached
 * entry is compared with what memory says now. An IOTLB leaf must be the leaf its table walk
 * reads now, a paging-structure-cache entry the table descriptor pointing at the same table
 * (the rules every IOMMU shares, verdict.ts); both must also still belong to the tables
 * their tag leads to: when the domain id (and PASID) of the tag now translates through
 * other tables, a lookup would hit the old entry. A cached PASID-table or context entry must
 * equal the entry in memory; a device-TLB entry must be what a Translation Request would be
 * answered with now.
 *
 * An entry is stale from the first check that finds it so and is reported once, unless it
 * is tolerated for now: device-TLB entries of an endpoint with ATS disabled (it cannot use
 * them), and, through `tolerated`, ranges a non-strict domain has queued for its deferred
 * flush. Each finding names the descriptor that would remove it.
 * Not a kernel function: the oracle the driver's descriptors are judged by.
 * @module
 */

import { hex, ilog2 } from "../bits.ts";
import type { AtcEntry, AtsEndpoint } from "../hw/pci/ats.ts";
import type { TlbEntry } from "../hw/tlb.ts";
import type { CachedContext, CachedPasid, VtdTag } from "../hw/vtd/caches.ts";
import { type Desc, formatDesc, makeDesc } from "../hw/vtd/desc.ts";
import type { VtdIommu } from "../hw/vtd/iommu.ts";
import type { VtdHw } from "../hw/vtd/qi_consume.ts";
import { vtdContextMem, type VtdMemory, vtdTranslateMem } from "../hw/vtd/translate.ts";
import { formatSize } from "../num.ts";
import type { Finding } from "./finding.ts";
import { atcEntryFinding, type AtcEntryFindingOptions, atcEntryVerdict } from "./atc_entry.ts";
import { judge, leafVerdict, type Verdict, walkVerdict } from "./verdict.ts";

/** Options of {@link vtdCheck}. */
export interface VtdCheckOptions {
  /** Index of the step just run. */
  readonly step: number;
  /** Whether a stale entry from tables at `root` covering `[iova, iova+size)` may stay. */
  readonly tolerated?: (root: bigint, iova: bigint, size: bigint) => boolean;
}

interface Ctx {
  readonly iommu: VtdIommu;
  readonly hw: VtdHw;
  readonly mem: VtdMemory;
  readonly o: VtdCheckOptions;
  /** Table bases each tag key leads to now, from the present entries in memory. */
  readonly live: ReadonlyMap<string, ReadonlySet<bigint | null>>;
}

const pasidArg = (pasid: number) => pasid === 0 ? null : pasid;

// Every present context or PASID-table entry of the unit: which tag leads to which tables.
function liveTags(hw: VtdHw, mem: VtdMemory): Map<string, Set<bigint | null>> {
  const out = new Map<string, Set<bigint | null>>();
  for (const dev of mem.devices.values()) {
    const pasids = hw.scalable ? [...dev.pasidTable.keys()] : [0];
    for (const p of pasids) {
      const c = vtdContextMem(mem, { sid: dev.sid, pasid: pasidArg(p) }, hw);
      if (!c.ok) continue;
      let roots = out.get(c.tag.key);
      if (!roots) out.set(c.tag.key, roots = new Set());
      roots.add(c.root);
    }
  }
  return out;
}

function tagText(t: VtdTag): string {
  const pasid = t.stage === "fs" || t.pasid !== 0 ? `, PASID ${hex(t.pasid)}` : "";
  return `${t.stage === "fs" ? "first-stage" : "second-stage"}, DID ${t.did}${pasid}`;
}

function tagFields(t: VtdTag): Record<string, bigint | string> {
  return { did: BigInt(t.did), pasid: BigInt(t.pasid), stage: t.stage };
}

const tagKey = (t: VtdTag) => t.stage === "fs" ? ["did", "pasid", "iova"] : ["did", "iova"];
const amOf = (size: bigint) => ilog2(size) - 12;

// The page-selective descriptor that removes `e` (with IH for a leaf: the walk caches stay).
function fixFor(e: TlbEntry<VtdTag>, leaf: boolean): Desc {
  const { did, pasid } = e.tag;
  const a = { gran: 3, did, addr: e.iova, am: amOf(e.size), ih: leaf };
  return e.tag.stage === "fs" ? makeDesc("P_IOTLB_INV", { ...a, pasid }) : makeDesc("IOTLB_INV", a);
}

// The cache rule, then whether the tag still leads to the tables the entry came from.
function tlbVerdict(c: Ctx, e: TlbEntry<VtdTag>, leaf: boolean): Verdict {
  const v = leaf ? leafVerdict(e, c.mem.pgtables) : walkVerdict(e, c.mem.pgtables);
  if (v) return v;
  const roots = c.live.get(e.tag.key);
  if (!roots || roots.has(e.root)) return null;
  return { now: `domain id ${e.tag.did} now translates through other tables` };
}

function iotlbFinding(c: Ctx, e: TlbEntry<VtdTag>, now: string): Finding {
  const sz = e.size === 0x1000n ? "" : ` (${formatSize(e.size)})`;
  const name = c.iommu.name;
  return {
    kind: "IOTLB",
    owner: name,
    fields: { ...tagFields(e.tag), iova: e.iova, pa: e.out, size: e.size, level: BigInt(e.level) },
    key: tagKey(e.tag),
    what: `IOTLB of ${name} (${tagText(e.tag)}) still maps ${hex(e.iova)}${sz} → ${hex(e.out)}`,
    fix: `${formatDesc(fixFor(e, true))} would remove it`,
    since: e.stale?.since,
    notes: [now, ...(e.note ? [e.note] : [])],
  };
}

function pscFinding(c: Ctx, e: TlbEntry<VtdTag>, now: string): Finding {
  const name = c.iommu.name;
  return {
    kind: "PSC",
    owner: name,
    fields: {
      ...tagFields(e.tag),
      iova: e.iova,
      size: e.size,
      level: BigInt(e.level),
      table: e.out,
    },
    key: [...tagKey(e.tag), "level"],
    what:
      `paging-structure cache of ${name} (${tagText(e.tag)}) still holds the level-${e.level} ` +
      `table descriptor for ${hex(e.iova)} (${formatSize(e.size)}) → table ${hex(e.out)}`,
    fix: `${formatDesc(fixFor(e, false))} would remove it`,
    since: e.stale?.since,
    notes: [now],
  };
}

function checkTlbs(c: Ctx, out: Finding[]): void {
  const tol = (e: TlbEntry<VtdTag>) => c.o.tolerated?.(e.root, e.iova, e.size) ?? false;
  for (const e of c.hw.caches.iotlb.entries) {
    const v = tlbVerdict(c, e, true);
    if (judge(e, v, { step: c.o.step, tolerated: tol(e) }) && v) {
      out.push(iotlbFinding(c, e, v.now));
    }
  }
  for (const e of c.hw.caches.psc.entries) {
    const v = tlbVerdict(c, e, false);
    if (judge(e, v, { step: c.o.step, tolerated: tol(e) }) && v) out.push(pscFinding(c, e, v.now));
  }
}

function pasidFinding(c: Ctx, e: CachedPasid, now: string): Finding {
  const fix = makeDesc("PC_INV", { gran: 1, did: e.did, pasid: e.pasid });
  return {
    kind: "PASID",
    owner: c.iommu.name,
    fields: { sid: BigInt(e.sid), pasid: BigInt(e.pasid), did: BigInt(e.did) },
    key: ["sid", "pasid"],
    what: `PASID cache of ${c.iommu.name} still holds an old PASID-table entry of sid ` +
      `${hex(e.sid)} PASID ${hex(e.pasid)} (DID ${e.did})`,
    fix: `${formatDesc(fix)} would remove it`,
    since: e.stale?.since,
    notes: [now],
  };
}

function contextFinding(c: Ctx, e: CachedContext, now: string): Finding {
  const fix = makeDesc("CC_INV", { gran: 3, did: e.did, sid: e.sid });
  return {
    kind: "CONTEXT",
    owner: c.iommu.name,
    fields: { sid: BigInt(e.sid), did: BigInt(e.did) },
    key: ["sid"],
    what: `context cache of ${c.iommu.name} still holds an old context entry of sid ` +
      `${hex(e.sid)} (DID ${e.did})`,
    fix: `${formatDesc(fix)} would remove it`,
    since: e.stale?.since,
    notes: [now],
  };
}

// A cached entry (PASID or context) against the entry memory holds now.
function entryVerdict(c: Ctx, e: CachedPasid | CachedContext, pasid: number): Verdict {
  const now = vtdContextMem(c.mem, { sid: e.sid, pasid: pasidArg(pasid) }, c.hw);
  if (!now.ok) return { now: `the entry in memory is not usable now (${now.fault})` };
  const stage = "stage" in e ? e.stage : "ss";
  if (now.tag.did === e.did && now.tag.stage === stage && now.root === e.root) return null;
  return { now: `the entry in memory now holds DID ${now.tag.did}` };
}

function checkConfig(c: Ctx, out: Finding[]): void {
  const at = { step: c.o.step, tolerated: false };
  for (const e of c.hw.caches.pasid.values()) {
    const v = entryVerdict(c, e, e.pasid);
    if (judge(e, v, at) && v) out.push(pasidFinding(c, e, v.now));
  }
  for (const e of c.hw.caches.context.values()) {
    const v = entryVerdict(c, e, 0);
    if (judge(e, v, at) && v) out.push(contextFinding(c, e, v.now));
  }
}

function devtlbVerdict(c: Ctx, e: AtcEntry): Verdict {
  const req = { sid: e.tag.sid, pasid: e.tag.pasid, iova: e.iova, write: false, ats: true };
  return atcEntryVerdict(e, vtdTranslateMem(req, { mem: c.mem, scalable: c.hw.scalable }));
}

function devtlbFinding(ep: AtsEndpoint, e: AtcEntry, now: string): Finding {
  const { sid, pasid } = e.tag;
  const order = amOf(e.size);
  const fix = pasid === null
    ? makeDesc("DEV_TLB_INV", { sid, addr: e.iova, mask: order })
    : makeDesc("P_DEV_TLB_INV", { sid, pasid, addr: e.iova, size_order: order });
  const o: AtcEntryFindingOptions = {
    kind: "DEVTLB",
    cache: "device TLB",
    hexPasid: true,
    fix: formatDesc(fix),
    now,
  };
  return atcEntryFinding(ep, e, o);
}

function checkDevtlbs(c: Ctx, out: Finding[]): void {
  for (const ep of new Set(c.hw.endpoints.values())) {
    const ats = c.mem.devices.get(ep.sids[0])?.atsEnabled ?? false;
    for (const e of ep.atc.entries) {
      const v = devtlbVerdict(c, e);
      // An endpoint with ATS disabled cannot use its device TLB.
      const tol = !ats || (c.o.tolerated?.(e.root, e.iova, e.size) ?? false);
      if (judge(e, v, { step: c.o.step, tolerated: tol }) && v) {
        out.push(devtlbFinding(ep, e, v.now));
      }
    }
  }
}

/**
 * Checks every cache of `iommu` and the device TLBs behind it after a step; returns the
 * stale entries to report now (each once, at the first step it is not tolerated). A unit
 * whose memory the model does not know has nothing to check.
 */
export function vtdCheck(iommu: VtdIommu, opts: VtdCheckOptions): Finding[] {
  const hw = iommu.hw;
  const mem = hw.mem;
  if (!mem) return [];
  const c: Ctx = { iommu, hw, mem, o: opts, live: liveTags(hw, mem) };
  const out: Finding[] = [];
  checkConfig(c, out);
  checkTlbs(c, out);
  checkDevtlbs(c, out);
  return out;
}
