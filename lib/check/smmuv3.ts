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
import type { TlbEntry } from "../hw/tlb.ts";
import { formatSize } from "../num.ts";
import { atcInvToCmd } from "../tlbi/atc.ts";
import type { Finding } from "./finding.ts";
import { atcEntryFinding, atcEntryVerdict } from "./atc_entry.ts";
import { judge, leafVerdict, type Verdict, walkVerdict } from "./verdict.ts";

/** Options of {@link smmuCheck}. */
export interface SmmuCheckOptions {
  /** Index of the step just run. */
  readonly step: number;
  /** What memory holds now. */
  readonly mem: SmmuMemory;
  /** Whether a stale entry from tables at `root` covering `[iova, iova+size)` may stay. */
  readonly tolerated?: (root: bigint, iova: bigint, size: bigint) => boolean;
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
  return atcEntryVerdict(e, smmuTranslateMem(mem, req));
}

function atcFinding(ep: AtsEndpoint, e: AtcEntry, now: string): Finding {
  const { sid, pasid } = e.tag;
  const cmd = atcInvToCmd({ sid, ssid: pasid ?? 0, iova: e.iova, size: e.size });
  return atcEntryFinding(ep, e, { kind: "ATC", cache: "ATC", fix: formatCmd(cmd), now });
}

function checkTlbs(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  const tol = (e: TlbEntry<SmmuTag>) => o.tolerated?.(e.root, e.iova, e.size) ?? false;
  for (const e of smmu.hw.caches.iotlb.entries) {
    const v = leafVerdict(e, o.mem.pgtables);
    if (judge(e, v, { step: o.step, tolerated: tol(e) }) && v) {
      out.push(iotlbFinding(smmu, e, v.now));
    }
  }
  for (const e of smmu.hw.caches.walk.entries) {
    const v = walkVerdict(e, o.mem.pgtables);
    if (judge(e, v, { step: o.step, tolerated: tol(e) }) && v) {
      out.push(walkFinding(smmu, e, v.now));
    }
  }
}

function checkConfig(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  for (const e of smmu.hw.caches.ste.values()) {
    const v = sameQwords(e.ste, o.mem.strtab.get(e.sid)) ? null : { now: "" };
    if (judge(e, v, { step: o.step, tolerated: false })) out.push(steFinding(smmu, e));
  }
  for (const e of smmu.hw.caches.cd.values()) {
    const v = sameQwords(e.cd, cdNow(e, o.mem)) ? null : { now: "" };
    if (judge(e, v, { step: o.step, tolerated: false })) out.push(cdFinding(smmu, e));
  }
}

function checkAtcs(smmu: SmmuDevice, o: SmmuCheckOptions, out: Finding[]): void {
  for (const ep of new Set(smmu.hw.endpoints.values())) {
    for (const e of ep.atc.entries) {
      const v = atcVerdict(e, o.mem);
      // A function with ATS disabled cannot use its ATC; enabling ATS flushes it first.
      const tol = !ep.atsEnabled || (o.tolerated?.(e.root, e.iova, e.size) ?? false);
      if (judge(e, v, { step: o.step, tolerated: tol }) && v) out.push(atcFinding(ep, e, v.now));
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
