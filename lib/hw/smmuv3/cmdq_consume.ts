/**
 * The SMMU side of the command queue: what each command does to the caches, and when.
 *
 * A command is only known to have taken effect once a later CMD_SYNC on the same queue has
 * completed; before that the SMMU may not have acted on it at all. The model takes that
 * literally: invalidation commands wait in `pending` and all act when the next CMD_SYNC
 * arrives, so whatever a device does before then (a `dma` step) still sees the old entries.
 *
 * Within one SYNC group nothing orders the commands' effects, so an ATC_INV may reach the
 * device before a TLBI of the same group has emptied the IOTLB; a device translating again
 * at that moment is answered from the old IOTLB entry and caches it once more. The model
 * replays that race for every ATC entry an ATC_INV drops: if the IOTLB (as it was before the
 * group) answers a Translation Request for it, that answer goes back into the ATC, marked as
 * a refetch. A driver that syncs its TLBIs before its ATC_INVs (arm_smmu_invs_end_batch())
 * never leaves a stale refetch.
 *
 * With nothing cached and no ATC entry anywhere, a SYNC just empties `pending`: specs without
 * DMA pay almost nothing. Not a kernel function: QEMU's smmuv3_cmdq_consume() is the model
 * of the same thing, without the caches it does not keep.
 * @module
 */

import { ATC_INV_SIZE_ALL, type Cmd, type CmdFor, formatCmd } from "./cmd.ts";
import {
  type AtcEntry,
  atcFill,
  type AtsEndpoint,
  atsInvalidate,
  atsInvFind,
  type AtsInvRequest,
} from "../pci/ats.ts";
import { cfgiExecute, type SmmuCaches, smmuCachesCreate, smmuCachesEmpty } from "./caches.ts";
import { tlbiExecute } from "./tlbi_exec.ts";
import { type SmmuLeaf, type SmmuMemory, smmuTranslateCached } from "./translate.ts";

/** The hardware state behind one SMMU's queue. Plain data. */
export interface SmmuHw {
  /** Configuration cache, IOTLB and walk cache. */
  readonly caches: SmmuCaches;
  /** Invalidations written since the last CMD_SYNC (not yet known to have acted). */
  readonly pending: Cmd[];
  /** ATS functions by StreamID: where ATC_INV requests go. */
  readonly endpoints: Map<number, AtsEndpoint>;
  /** What the SMMU reads from memory; null when nothing models it (no refetch then). */
  mem: SmmuMemory | null;
  /** Stamp given to entries filled while consuming (the current step). */
  stamp: number;
}

/** Opcodes that act on a cache. PREFETCH_CFG, PRI_RESP and RESUME do not. */
const ACTS: ReadonlySet<string> = new Set([
  "CFGI_STE",
  "CFGI_ALL",
  "CFGI_CD",
  "CFGI_CD_ALL",
  "TLBI_NH_ALL",
  "TLBI_NH_ASID",
  "TLBI_NH_VA",
  "TLBI_NH_VAA",
  "TLBI_EL2_ALL",
  "TLBI_EL2_ASID",
  "TLBI_EL2_VA",
  "TLBI_S12_VMALL",
  "TLBI_S2_IPA",
  "TLBI_NSNH_ALL",
  "ATC_INV",
]);

/** Whether `op` is an invalidation (it waits for a CMD_SYNC to be known complete). */
export function cmdInvalidates(op: string): boolean {
  return ACTS.has(op);
}

/** A fresh SMMU: empty caches, nothing pending, no endpoint, no memory. */
export function smmuHwCreate(): SmmuHw {
  return { caches: smmuCachesCreate(), pending: [], endpoints: new Map(), mem: null, stamp: 0 };
}

/** The ATS Invalidate Request an ATC_INV sends: SIZE 52 (and above) is everything. */
export function atcInvRequest(cmd: CmdFor<"ATC_INV">): AtsInvRequest {
  const pasid = cmd.ssv ? cmd.ssid : null;
  if (cmd.size >= ATC_INV_SIZE_ALL) return { pasid };
  const span = 1n << BigInt(cmd.size + 12);
  const start = cmd.addr & ~(span - 1n);
  return { pasid, start, end: start + span };
}

function execute(hw: SmmuHw, cmd: Cmd): void {
  if (tlbiExecute(hw.caches, cmd)) return;
  if (cmd.op === "ATC_INV") {
    const ep = hw.endpoints.get(cmd.sid);
    if (ep) atsInvalidate(ep, atcInvRequest(cmd));
    return;
  }
  cfgiExecute(hw.caches, cmd);
}

function nothingCached(hw: SmmuHw): boolean {
  if (!smmuCachesEmpty(hw.caches)) return false;
  for (const ep of hw.endpoints.values()) if (ep.atc.entries.length) return false;
  return true;
}

interface Refetch {
  readonly ep: AtsEndpoint;
  readonly entry: AtcEntry;
  readonly leaf: SmmuLeaf;
  readonly by: string;
}

// For every ATC entry an ATC_INV of the group drops, what the IOTLB (still as before the
// group) would answer a Translation Request for it with.
function refetches(hw: SmmuHw, group: readonly Cmd[]): Refetch[] {
  const mem = hw.mem;
  if (!mem) return [];
  const out: Refetch[] = [];
  const seen = new Set<AtcEntry>();
  for (const cmd of group) {
    if (cmd.op !== "ATC_INV") continue;
    const ep = hw.endpoints.get(cmd.sid);
    if (!ep?.atsEnabled) continue;
    for (const entry of atsInvFind(ep, atcInvRequest(cmd))) {
      if (seen.has(entry)) continue;
      seen.add(entry);
      const req = { sid: entry.tag.sid, ssid: entry.tag.pasid, iova: entry.iova, write: false };
      const r = smmuTranslateCached(hw.caches, { ...req, ats: true }, { mem });
      if (r.ok && r.from === "iotlb") out.push({ ep, entry, leaf: r.leaf, by: formatCmd(cmd) });
    }
  }
  return out;
}

// CMD_SYNC: the group acts, in order, after the refetch race has been played.
function syncComplete(hw: SmmuHw): void {
  if (nothingCached(hw)) {
    hw.pending.length = 0;
    return;
  }
  const group = hw.pending.slice();
  hw.pending.length = 0;
  const again = refetches(hw, group);
  for (const cmd of group) execute(hw, cmd);
  for (const r of again) {
    atcFill(r.ep, {
      pasid: r.entry.tag.pasid,
      sid: r.entry.tag.sid,
      completion: { ok: true, ...r.leaf },
      stamp: hw.stamp,
      note: `refetched from the IOTLB, which still held it, right after ${r.by} dropped it`,
    });
  }
}

/**
 * The SMMU reads one command from its queue: an invalidation waits for the next CMD_SYNC,
 * which makes the whole group act.
 */
export function cmdqConsume(hw: SmmuHw, cmd: Cmd): void {
  if (cmd.op === "CMD_SYNC") {
    if (hw.pending.length) syncComplete(hw);
    return;
  }
  if (ACTS.has(cmd.op)) hw.pending.push(cmd);
}
