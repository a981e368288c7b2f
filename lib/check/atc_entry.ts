/**
 * The device side every stale-translation check shares: an entry of a device's own
 * translation cache (an SMMUv3 device's ATC, a VT-d endpoint's device TLB) must be what a
 * Translation Request would be answered with now, and the finding that reports one that is
 * not. Not a kernel function.
 * @module
 */

import { hex } from "../bits.ts";
import type { AtcEntry, AtsEndpoint } from "../hw/pci/ats.ts";
import type { TlbLeaf } from "../hw/tlb.ts";
import { formatSize } from "../num.ts";
import type { Finding } from "./finding.ts";
import type { Verdict } from "./verdict.ts";

/** What a Translation Request for the entry gets now, from memory alone. */
export type RequestNow =
  | { readonly ok: true; readonly leaf: TlbLeaf }
  | { readonly ok: false; readonly fault: string };

/** The entry against the answer a Translation Request gets now. */
export function atcEntryVerdict(e: AtcEntry, r: RequestNow): Verdict {
  if (!r.ok) return { now: `a Translation Request for it fails now (${r.fault})` };
  const l = r.leaf;
  if (l.iova === e.iova && l.size === e.size && l.out === e.out && l.prot === e.prot) return null;
  return {
    now: `a Translation Request now returns ${hex(l.iova)} (${formatSize(l.size)}) → ${hex(l.out)}`,
  };
}

/** How a check names the device cache and the command that removes an entry. */
export interface AtcEntryFindingOptions {
  /** Finding kind: `ATC` (SMMUv3) or `DEVTLB` (VT-d). */
  readonly kind: "ATC" | "DEVTLB";
  /** The cache in the message: "ATC", "device TLB". */
  readonly cache: string;
  /** PASIDs in the message in hex (as VT-d descriptors print them) rather than decimal. */
  readonly hexPasid?: boolean;
  /** The command that would remove the entry, as text. */
  readonly fix: string;
  /** What memory says now. */
  readonly now: string;
}

/** The finding for a stale entry of `ep`'s cache. */
export function atcEntryFinding(ep: AtsEndpoint, e: AtcEntry, o: AtcEntryFindingOptions): Finding {
  const { sid, pasid } = e.tag;
  const sz = e.size === 0x1000n ? "" : ` (${formatSize(e.size)})`;
  const p = pasid === null ? "no PASID" : `PASID ${o.hexPasid ? hex(pasid) : pasid}`;
  return {
    kind: o.kind,
    owner: ep.name,
    fields: {
      sid: BigInt(sid),
      pasid: pasid === null ? "none" : BigInt(pasid),
      iova: e.iova,
      pa: e.out,
      size: e.size,
    },
    key: pasid === null ? ["sid", "iova"] : ["sid", "pasid", "iova"],
    what: `${o.cache} of ${ep.name} (sid ${hex(sid)}, ${p}) still maps ${hex(e.iova)}${sz} → ${
      hex(e.out)
    }`,
    fix: `${o.fix} would remove it`,
    since: e.stale?.since,
    notes: [o.now, ...(e.note ? [e.note] : [])],
  };
}
