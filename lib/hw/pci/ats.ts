/**
 * A PCIe function with Address Translation Services: its ATS Enable bit and its Address
 * Translation Cache (ATC, the "device TLB"). With ATS enabled the function looks its DMA
 * addresses up in the ATC, asks the IOMMU (a Translation Request) on a miss and caches the
 * completion, tagged with the PASID of the request or untagged. An ATS Invalidate Request
 * names one naturally aligned range and optionally a PASID: without one it drops every
 * entry in the range, PASID-tagged ones included (there is no way to aim at only the
 * untagged ones); with one, only that PASID's entries.
 *
 * Models PCIe r6.0 chapter 10 (ATS) as the SMMUv3 ATC_INV command and the VT-d device-TLB
 * invalidation descriptors use it; the kernel side is pci_enable_ats()/pci_disable_ats().
 * @module
 */

import { IOMMU_READ, IOMMU_WRITE } from "../../pgtable/pgtable.ts";
import {
  type Tlb,
  tlbCreate,
  type TlbEntry,
  tlbFind,
  tlbInsert,
  tlbInvalidate,
  type TlbLeaf,
  tlbLookup,
} from "../tlb.ts";

/** The tag of an ATC entry. */
export interface AtcTag {
  /** The PASID as a string, or `-` for untagged entries. */
  readonly key: string;
  /** PASID of the Translation Request that filled the entry; null without a PASID prefix. */
  readonly pasid: number | null;
  /** Requester (StreamID / RID) the request went out with. */
  readonly sid: number;
  /** The IOMMU's context (its TLB tag key) that answered, so a refetch can be replayed. */
  readonly ctx: string;
}

/** One ATC entry. */
export type AtcEntry = TlbEntry<AtcTag>;

/** An ATS-capable function. Plain data. */
export interface AtsEndpoint {
  /** Device name. */
  readonly name: string;
  /** Requester ids (StreamIDs) that reach the function; the first one is its own. */
  readonly sids: readonly number[];
  /** The ATS Enable bit of its ATS capability (written by pci_enable_ats()). */
  atsEnabled: boolean;
  /** The Address Translation Cache. */
  readonly atc: Tlb<AtcTag>;
}

/** An ATS Invalidate Request. */
export interface AtsInvRequest {
  /** PASID prefix; null sends none. */
  readonly pasid: number | null;
  /** First byte of the range; absent with `end` = the whole ATC. */
  readonly start?: bigint;
  /** One past the last byte. */
  readonly end?: bigint;
}

/** A Translation Completion: the translation of one page or block, or a failure. */
export type AtsCompletion =
  /** The IOMMU's leaf (range, output, permissions) and the key of its TLB context. */
  | TlbLeaf & { readonly ok: true; readonly ctx: string }
  | { readonly ok: false; readonly fault: string };

/** A new function with ATS disabled and an empty ATC. */
export function atsEndpointCreate(
  name: string,
  opts: { readonly sids: readonly number[] },
): AtsEndpoint {
  return { name, sids: [...opts.sids], atsEnabled: false, atc: tlbCreate() };
}

/** The tag key of `pasid`. */
export function atcKey(pasid: number | null): string {
  return pasid === null ? "-" : String(pasid);
}

function selectOf(req: AtsInvRequest) {
  return {
    // No PASID prefix: every entry in the range, tagged or not.
    match: (t: AtcTag) => req.pasid === null || t.pasid === req.pasid,
    start: req.start,
    end: req.end,
  };
}

/** The entries an Invalidate Request would drop, left in place. */
export function atsInvFind(ep: AtsEndpoint, req: AtsInvRequest): AtcEntry[] {
  return tlbFind(ep.atc, selectOf(req));
}

/** Handles an Invalidate Request; returns the entries dropped. */
export function atsInvalidate(ep: AtsEndpoint, req: AtsInvRequest): AtcEntry[] {
  return tlbInvalidate(ep.atc, selectOf(req));
}

/** The ATC entry translating `iova` for `pasid` (null: untagged), if any. */
export function atcLookup(
  ep: AtsEndpoint,
  req: { readonly pasid: number | null; readonly iova: bigint },
): AtcEntry | undefined {
  const key = atcKey(req.pasid);
  return tlbLookup(ep.atc, { match: (t) => t.key === key, iova: req.iova });
}

/** Caches a completion for `pasid` from requester `sid`. */
export function atcFill(
  ep: AtsEndpoint,
  opts: {
    readonly pasid: number | null;
    readonly sid: number;
    readonly completion: AtsCompletion & { ok: true };
    readonly stamp: number;
    readonly note?: string;
  },
): AtcEntry {
  const c = opts.completion;
  const e: AtcEntry = {
    tag: { key: atcKey(opts.pasid), pasid: opts.pasid, sid: opts.sid, ctx: c.ctx },
    iova: c.iova,
    size: c.size,
    level: c.level,
    out: c.out,
    prot: c.prot,
    root: c.root,
    filled: opts.stamp,
    ...(opts.note ? { note: opts.note } : {}),
  };
  tlbInsert(ep.atc, e);
  return e;
}

/** The result of a DMA by a function. */
export type DmaResult =
  | { readonly ok: true; readonly pa: bigint; readonly from: string }
  | { readonly ok: false; readonly fault: string };

/**
 * A DMA of the function with ATS enabled: an ATC hit gives the address at once (a hit
 * without write permission is asked again); otherwise `request` sends a Translation Request
 * and a successful completion is cached.
 */
export function atsDma(
  ep: AtsEndpoint,
  req: {
    readonly pasid: number | null;
    readonly iova: bigint;
    readonly write: boolean;
    readonly stamp: number;
  },
  request: () => AtsCompletion & { readonly from: string },
): DmaResult {
  const hit = atcLookup(ep, req);
  const want = req.write ? IOMMU_WRITE : IOMMU_READ;
  if (hit && (hit.prot & want)) {
    return { ok: true, pa: hit.out + (req.iova - hit.iova), from: "atc" };
  }
  const c = request();
  if (!c.ok) return { ok: false, fault: c.fault };
  atcFill(ep, { pasid: req.pasid, sid: ep.sids[0], completion: c, stamp: req.stamp });
  if (!(c.prot & want)) return { ok: false, fault: "F_PERMISSION" };
  return { ok: true, pa: c.out + (req.iova - c.iova), from: c.from };
}
