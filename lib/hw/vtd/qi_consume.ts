/**
 * The unit side of the invalidation queue: what each descriptor does to the caches, and
 * when.
 *
 * A descriptor is only known to have taken effect once the wait descriptor behind it has
 * completed (Intel VT-d spec rev 5.10, §6.5.2.9), so the model keeps the descriptors of a
 * submission in `pending` and lets them act when its INV_WAIT arrives: whatever a device
 * does before then still sees the old entries.
 *
 * Inside a submission the hardware keeps one order the driver relies on (§6.5.2.12): a
 * device-TLB descriptor runs only after every IOTLB (and PASID-IOTLB) descriptor ahead of
 * it has completed, so no wait is needed between the IOTLB invalidation and the device-TLB
 * one; what the software must do is put the IOTLB invalidation first (§6.5.2.5-6.5.2.6),
 * since a device may be answered from the IOTLB again right after its device TLB was
 * invalidated. The model runs the descriptors in queue order and replays that refetch for
 * every entry a device-TLB descriptor drops: if the IOTLB, as the descriptors ahead have
 * left it, answers a Translation Request for it, the answer goes back into the device TLB,
 * marked as a refetch. A driver that invalidates the IOTLB first never leaves one stale.
 *
 * With nothing cached anywhere, a wait just empties `pending`. Not a kernel function: QEMU's
 * vtd_process_inv_desc() is the model of the same queue, without these caches.
 * @module
 */

import { type AtcEntry, atcFill, type AtsEndpoint, atsInvalidate, atsInvFind } from "../pci/ats.ts";
import { type VtdCaches, vtdCachesCreate, vtdCachesEmpty } from "./caches.ts";
import { type Desc, type DescFor, formatDesc } from "./desc.ts";
import {
  ccInvExecute,
  devTlbInvRequest,
  iotlbInvExecute,
  pcInvExecute,
  piotlbInvExecute,
} from "./desc_exec.ts";
import { type VtdLeaf, type VtdMemory, vtdTranslateCached } from "./translate.ts";

/** The hardware behind one unit's queue. Plain data. */
export interface VtdHw {
  /** Scalable mode (PASID tables) rather than legacy mode (context entries). */
  readonly scalable: boolean;
  /** Context cache, PASID cache, IOTLB and paging-structure caches. */
  readonly caches: VtdCaches;
  /** Descriptors written since the last wait (not yet known to have acted). */
  readonly pending: Desc[];
  /** ATS endpoints by requester id: where device-TLB descriptors go. */
  readonly endpoints: Map<number, AtsEndpoint>;
  /** What the unit reads from memory; null when nothing models it (no DMA, no refetch). */
  mem: VtdMemory | null;
  /** Stamp given to entries filled while consuming (the current step). */
  stamp: number;
}

/** A fresh unit: empty caches, nothing pending, no endpoint, no memory. */
export function vtdHwCreate(opts: { readonly scalable: boolean }): VtdHw {
  return {
    scalable: opts.scalable,
    caches: vtdCachesCreate(),
    pending: [],
    endpoints: new Map(),
    mem: null,
    stamp: 0,
  };
}

type DevTlbDesc = DescFor<"DEV_TLB_INV"> | DescFor<"P_DEV_TLB_INV">;

function nothingCached(hw: VtdHw): boolean {
  if (!vtdCachesEmpty(hw.caches)) return false;
  for (const ep of hw.endpoints.values()) if (ep.atc.entries.length) return false;
  return true;
}

interface Refetch {
  readonly entry: AtcEntry;
  readonly leaf: VtdLeaf;
}

// What the IOTLB, as it is now, would answer for each device-TLB entry `d` drops.
function refetches(hw: VtdHw, ep: AtsEndpoint, d: DevTlbDesc): Refetch[] {
  const mem = hw.mem;
  if (!mem || !mem.devices.get(ep.sids[0])?.atsEnabled) return [];
  const out: Refetch[] = [];
  for (const entry of atsInvFind(ep, devTlbInvRequest(d))) {
    const req = { sid: entry.tag.sid, pasid: entry.tag.pasid, iova: entry.iova, write: false };
    const r = vtdTranslateCached(hw.caches, { ...req, ats: true }, { mem, scalable: hw.scalable });
    if (r.ok && r.from === "iotlb") out.push({ entry, leaf: r.leaf });
  }
  return out;
}

// A device-TLB descriptor: the Invalidate Request, then the device asking again at once.
function devTlbExecute(hw: VtdHw, d: DevTlbDesc): void {
  const ep = hw.endpoints.get(d.sid);
  if (!ep || ep.atc.entries.length === 0) return;
  const again = refetches(hw, ep, d);
  atsInvalidate(ep, devTlbInvRequest(d));
  for (const { entry, leaf } of again) {
    atcFill(ep, {
      pasid: entry.tag.pasid,
      sid: entry.tag.sid,
      completion: { ok: true, ...leaf },
      stamp: hw.stamp,
      note: `refetched from the IOTLB, which still held it, right after ${
        formatDesc(d)
      } dropped it (no IOTLB invalidation ahead of it had removed the IOTLB entry)`,
    });
  }
}

function execute(hw: VtdHw, d: Desc): void {
  switch (d.op) {
    case "IOTLB_INV":
      return iotlbInvExecute(hw.caches, d);
    case "P_IOTLB_INV":
      return piotlbInvExecute(hw.caches, d);
    case "PC_INV":
      return pcInvExecute(hw.caches, d);
    case "CC_INV":
      return ccInvExecute(hw.caches, d);
    case "DEV_TLB_INV":
    case "P_DEV_TLB_INV":
      return devTlbExecute(hw, d);
  }
}

/**
 * The unit reads one descriptor from its queue: invalidations wait for the next wait
 * descriptor, whose completion makes them act, in queue order.
 */
export function qiConsume(hw: VtdHw, desc: Desc): void {
  if (desc.op !== "INV_WAIT") {
    hw.pending.push(desc);
    return;
  }
  if (hw.pending.length === 0) return;
  if (nothingCached(hw)) {
    hw.pending.length = 0;
    return;
  }
  const group = hw.pending.slice();
  hw.pending.length = 0;
  for (const d of group) execute(hw, d);
}
