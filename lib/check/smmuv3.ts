/**
 * The stale-translation check for an SMMUv3 and the ATS functions behind it: every cached
 * entry is compared with what memory says now. An IOTLB entry must be exactly the leaf its
 * table walk reads now (same base, size, level, output and permissions: anything else needs
 * an invalidation, break-before-make included); a walk-cache entry must still be the table
 * descriptor pointing at the same table; a cached STE or CD must equal the one in memory; an
 * ATC entry must be what a Translation Request would be answered with now.
 *
 * An entry is stale from the first check that finds it so (its step is the one whose
 * page-table or STE/CD write made it wrong) and is reported once, unless it is tolerated for
 * now: entries of a function with ATS disabled (it cannot use them; pci_enable_ats() is
 * preceded by a full ATC flush), and, through `tolerated`, ranges a non-strict domain has
 * queued for its deferred flush. Each finding names the command that would remove it.
 * Not a kernel function: the oracle the driver's commands are judged by.
 * @module
 */

import { hex } from "../bits.ts";
import { steDecode } from "../drivers/arm-smmu-v3/ste.ts";
import type { AtcEntry, AtsEndpoint } from "../hw/pci/ats.ts";
import type { CachedCd, CachedSte, SmmuTag } from "../hw/smmuv3/caches.ts";
import { type Cmd, formatCmd, makeCmd } from "../hw/smmuv3/cmd.ts";
import type { SmmuDevice } from "../hw/smmuv3/smmu.ts";
import { type SmmuMemory, smmuTranslateMem } from "../hw/smmuv3/translate.ts";
import type { StaleMark, TlbEntry } from "../hw/tlb.ts";
import { formatSize } from "../num.ts";
import { ioPgtableWalk } from "../pgtable/walk.ts";
import { atcInvToCmd } from "../tlbi/atc.ts";
import type { Finding } from "./finding.ts";

/** Options of {@link smmuCheck}. */
export interface SmmuCheckOptions {
  /** Index of the step just run. */
  readonly step: number;
  /** What memory holds now. */
  readonly mem: SmmuMemory;
  /** Whether a stale entry from tables at `root` covering `[iova, iova+size)` may stay. */
  readonly tolerated?: (root: bigint, iova: bigint, size: bigint) => boolean;
}

/** A verdict on one entry: null when it agrees with memory, else what memory says now. */
type Verdict = null | { readonly now: string };

/** Updates the entry's mark; true when it must be reported now. */
function judge(e: { stale?: StaleMark }, v: Verdict, step: number, tolerated: boolean): boolean {
  if (v === null) {
    delete e.stale;
    return false;
  }
  e.stale ??= { since: step, reported: false };
  if (tolerated || e.stale.reported) return false;
  e.stale.reported = true;
  return true;
}

function tagText(t: SmmuTag): string {
  if (t.stage === "s2") return `S2 vmid ${t.vmid}`;
  if (t.regime === "el2") return `EL2 asid ${t.asid}`;
  return `S1 asid ${t.asid} vmid ${t.vmid}`;
}

function tagFields(t: SmmuTag): Record<string, bigint | string> {
  return { regime: t.regime, stage: t.stage, asid: BigInt(t.asid), vmid: BigInt(t.vmid) };
}

function tagKey(t: SmmuTag): string[] {
  return t.stage === "s2" ? ["vmid"] : t.regime === "el2" ? ["asid"] : ["asid", "vmid"];
}

// The single-address TLBI that removes `e` (leaf: the IOTLB entry; else the walk entry too).
function tlbiFor(t: SmmuTag, addr: bigint, leaf: boolean): Cmd {
  if (t.stage === "s2") return makeCmd("TLBI_S2_IPA", { vmid: t.vmid, addr, leaf });
  if (t.regime === "el2") return makeCmd("TLBI_EL2_VA", { asid: t.asid, addr, leaf });
  return makeCmd("TLBI_NH_VA", { asid: t.asid, vmid: t.vmid, addr, leaf });
}

function leafVerdict(e: TlbEntry<SmmuTag>, mem: SmmuMemory): Verdict {
  const pt = mem.pgtables.get(e.root);
  if (!pt) return null; // tables the model does not hold: nothing to compare with
  const w = ioPgtableWalk(pt, e.iova);
  if (!w.ok) return { now: "the page table maps nothing there now" };
  if (w.iova === e.iova && w.pgsize === e.size && w.oa === e.out && w.prot === e.prot) {
    return null;
  }
  return { now: `the page table now maps ${hex(w.iova)} (${formatSize(w.pgsize)}) → ${hex(w.oa)}` };
}

function iotlbFinding(smmu: SmmuDevice, e: TlbEntry<SmmuTag>, now: string): Finding {
  const sz = e.size === 0x1000n ? "" : ` (${formatSize(e.size)})`;
  return {
    kind: "IOTLB",
    owner: smmu.name,
    fields: {
      ...tagFields(e.tag),
      iova: e.iova,
      pa: e.out,
      size: e.size,
      level: BigInt(e.level),
    },
    key: [...tagKey(e.tag), "iova"],
    what: `IOTLB of ${smmu.name} (${tagText(e.tag)}) still maps ${hex(e.iova)}${sz} → ${
      hex(e.out)
    }`,
    fix: `${formatCmd(tlbiFor(e.tag, e.iova, true))} would remove it`,
    since: e.stale?.since,
    notes: [now, ...(e.note ? [e.note] : [])],
  };
}

function walkVerdict(e: TlbEntry<SmmuTag>, mem: SmmuMemory): Verdict {
  const pt = mem.pgtables.get(e.root);
  if (!pt) return null;
  const path = ioPgtableWalk(pt, e.iova).path;
  const i = path.findIndex((s) => s.level === e.level);
  if (i >= 0 && path[i].entry === "table" && path[i + 1]?.pa === e.out) return null;
  const freed = ![...pt.tables.values()].some((t) => t.pa === e.out);
  const was = `table ${hex(e.out)} ${freed ? "was freed" : "is no longer linked there"}`;
  if (i < 0 || path[i].entry === "invalid") return { now: `that entry is invalid now; ${was}` };
  if (path[i].entry === "leaf") return { now: `that entry is a leaf now; ${was}` };
  return { now: `that entry points at table ${hex(path[i + 1].pa)} now; ${was}` };
}

function walkFinding(smmu: SmmuDevice, e: TlbEntry<SmmuTag>, now: string): Finding {
  return {
    kind: "WALK",
    owner: smmu.name,
    fields: {
      ...tagFields(e.tag),
      iova: e.iova,
      size: e.size,
      level: BigInt(e.level),
      table: e.out,
    },
    key: [...tagKey(e.tag), "iova", "level"],
    what: `walk cache of ${smmu.name} (${tagText(e.tag)}) still holds the level-${e.level} ` +
      `table descriptor for ${hex(e.iova)} (${formatSize(e.size)}) → table ${hex(e.out)}`,
    fix: `${formatCmd(tlbiFor(e.tag, e.iova, false))} would remove it`,
    since: e.stale?.since,
    notes: [now],
  };
}

function sameQwords(a: readonly bigint[], b: readonly bigint[] | undefined): boolean {
  return !!b && a.length === b.length && a.every((q, i) => q === b[i]);
}

function steFinding(smmu: SmmuDevice, e: CachedSte): Finding {
  return {
    kind: "STE",
    owner: smmu.name,
    fields: { sid: BigInt(e.sid) },
    key: ["sid"],
    what: `STE cache of ${smmu.name} still holds an old STE of sid ${hex(e.sid)}`,
    fix: `${formatCmd(makeCmd("CFGI_STE", { sid: e.sid, leaf: true }))} would remove it`,
    since: e.stale?.since,
    notes: ["the stream table holds a different STE now"],
  };
}

// The CD table a cached CD is checked against: the one the STE in memory points at now.
function cdNow(e: CachedCd, mem: SmmuMemory): readonly bigint[] | undefined {
  const ste = mem.strtab.get(e.sid);
  const info = ste ? steDecode(ste) : undefined;
  const table = info?.config === "s1" ? info.s1ctxptr : e.table;
  return mem.cdTables.find((t) => t.cdtabDma === table)?.cds.get(e.ssid);
}

function cdFinding(smmu: SmmuDevice, e: CachedCd): Finding {
  return {
    kind: "CD",
    owner: smmu.name,
    fields: { sid: BigInt(e.sid), ssid: BigInt(e.ssid) },
    key: ["sid", "ssid"],
    what: `CD cache of ${smmu.name} still holds an old CD of sid ${hex(e.sid)} ssid ${e.ssid}`,
    fix: `${
      formatCmd(makeCmd("CFGI_CD", { sid: e.sid, ssid: e.ssid, leaf: true }))
    } would remove it`,
    since: e.stale?.since,
    notes: ["the CD table holds a different CD now"],
  };
}

function atcVerdict(e: AtcEntry, mem: SmmuMemory): Verdict {
  const req = { sid: e.tag.sid, ssid: e.tag.pasid, iova: e.iova, write: false, ats: true };
  const r = smmuTranslateMem(mem, req);
  if (!r.ok) return { now: `a Translation Request for it fails now (${r.fault})` };
  const l = r.leaf;
  if (l.iova === e.iova && l.size === e.size && l.out === e.out && l.prot === e.prot) return null;
  return {
    now: `a Translation Request now returns ${hex(l.iova)} (${formatSize(l.size)}) → ${hex(l.out)}`,
  };
}

function atcFinding(ep: AtsEndpoint, e: AtcEntry, now: string): Finding {
  const { sid, pasid } = e.tag;
  const sz = e.size === 0x1000n ? "" : ` (${formatSize(e.size)})`;
  const cmd = atcInvToCmd({ sid, ssid: pasid ?? 0, iova: e.iova, size: e.size });
  return {
    kind: "ATC",
    owner: ep.name,
    fields: {
      sid: BigInt(sid),
      pasid: pasid === null ? "none" : BigInt(pasid),
      iova: e.iova,
      pa: e.out,
      size: e.size,
    },
    key: pasid === null ? ["sid", "iova"] : ["sid", "pasid", "iova"],
    what: `ATC of ${ep.name} (sid ${hex(sid)}, ${pasid === null ? "no PASID" : `PASID ${pasid}`})` +
      ` still maps ${hex(e.iova)}${sz} → ${hex(e.out)}`,
    fix: `${formatCmd(cmd)} would remove it`,
    since: e.stale?.since,
    notes: [now, ...(e.note ? [e.note] : [])],
  };
}

function checkTlbs(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  const tol = (e: TlbEntry<SmmuTag>) => o.tolerated?.(e.root, e.iova, e.size) ?? false;
  for (const e of smmu.hw.caches.iotlb.entries) {
    const v = leafVerdict(e, o.mem);
    if (judge(e, v, o.step, tol(e)) && v) out.push(iotlbFinding(smmu, e, v.now));
  }
  for (const e of smmu.hw.caches.walk.entries) {
    const v = walkVerdict(e, o.mem);
    if (judge(e, v, o.step, tol(e)) && v) out.push(walkFinding(smmu, e, v.now));
  }
}

function checkConfig(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  for (const e of smmu.hw.caches.ste.values()) {
    const v = sameQwords(e.ste, o.mem.strtab.get(e.sid)) ? null : { now: "" };
    if (judge(e, v, o.step, false)) out.push(steFinding(smmu, e));
  }
  for (const e of smmu.hw.caches.cd.values()) {
    const v = sameQwords(e.cd, cdNow(e, o.mem)) ? null : { now: "" };
    if (judge(e, v, o.step, false)) out.push(cdFinding(smmu, e));
  }
}

function checkAtcs(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  for (const ep of new Set(smmu.hw.endpoints.values())) {
    for (const e of ep.atc.entries) {
      const v = atcVerdict(e, o.mem);
      // A function with ATS disabled cannot use its ATC; enabling ATS flushes it first.
      const tol = !ep.atsEnabled || (o.tolerated?.(e.root, e.iova, e.size) ?? false);
      if (judge(e, v, o.step, tol) && v) out.push(atcFinding(ep, e, v.now));
    }
  }
}

/**
 * Checks every cache of `smmu` and the ATCs behind it after a step; returns the stale
 * entries to report now (each is reported once, at the first step it is not tolerated).
 */
export function smmuCheck(smmu: SmmuDevice, opts: SmmuCheckOptions): Finding[] {
  const out: Finding[] = [];
  checkConfig(smmu, opts, out);
  checkTlbs(smmu, opts, out);
  checkAtcs(smmu, opts, out);
  return out;
}
