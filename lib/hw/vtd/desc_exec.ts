/**
 * What each VT-d invalidation descriptor removes from a unit's caches, or asks of a device
 * TLB (Intel VT-d spec rev 5.10, §6.5.2.1-6.5.2.8 and Tables 23-24):
 *
 * - IOTLB_INV: global drops everything; domain-selective every IOTLB and paging-structure
 *   entry of the DID; page-selective the second-stage entries of the DID in the
 *   ADDR/AM block, but every first-stage (and nested) entry of the DID whatever its address,
 *   and the paging-structure entries likewise, except that IH = 1 keeps the second-stage
 *   ones. In legacy mode every entry is second-stage, so the block rule covers them all.
 * - P_IOTLB_INV: PASID-selective drops every IOTLB entry of (DID, PASID) and its first-stage
 *   paging-structure entries; page-selective only first-stage entries of (DID, PASID) in the
 *   block (IH = 1 keeps the paging-structure ones). Second-stage paging-structure entries are
 *   never touched, and neither are second-stage IOTLB entries by the page-selective form.
 * - PC_INV: PASID-cache entries of the DID (all, or one PASID), or all of them (global).
 * - CC_INV: context-cache entries: all, those of a DID, or one requester id (FM masks its
 *   low function bits) of a DID. The IOTLB and PASID cache are the software's next steps.
 * - DEV_TLB_INV / P_DEV_TLB_INV: an ATS Invalidate Request for the ADDR/size block, with or
 *   without a PASID prefix; IEC_INV touches no translation.
 *
 * The hardware may invalidate more than asked; the model does exactly what is asked, the
 * worst case for a driver that asked too little. Not a kernel function: QEMU's
 * hw/i386/intel_iommu.c (vtd_process_iotlb_desc(), vtd_process_piotlb_desc()) keeps a
 * simpler form of the same rules.
 * @module
 */

import { U64_MAX } from "../../bits.ts";
import type { AtsInvRequest } from "../pci/ats.ts";
import { tlbInvalidate } from "../tlb.ts";
import type { VtdCaches, VtdTag } from "./caches.ts";
import {
  type DescFor,
  DEV_TLB_MAX_ORDER,
  QI_CC_GRAN_DEVICE,
  QI_CC_GRAN_DOMAIN,
  QI_GRAN_NONG_PASID,
  QI_IOTLB_GRAN_DSI,
  QI_IOTLB_GRAN_GLOBAL,
  QI_PC_ALL_PASIDS,
  QI_PC_PASID_SEL,
} from "./desc.ts";

/** The `[start, end)` block an ADDR / address-mask pair names (ADDR's low bits are masked). */
export function descBlock(addr: bigint, am: number): { start: bigint; end: bigint } {
  const size = 0x1000n << BigInt(am);
  const start = addr & ~(size - 1n) & U64_MAX;
  return { start, end: start + size };
}

/** Follows the IOTLB Invalidate Descriptor (§6.5.2.3, Table 23). */
export function iotlbInvExecute(c: VtdCaches, d: DescFor<"IOTLB_INV">): void {
  if (d.gran === QI_IOTLB_GRAN_GLOBAL) {
    c.iotlb.entries.length = 0;
    c.psc.entries.length = 0;
    return;
  }
  const ofDid = (t: VtdTag) => t.did === d.did;
  if (d.gran === QI_IOTLB_GRAN_DSI) {
    tlbInvalidate(c.iotlb, { match: ofDid });
    tlbInvalidate(c.psc, { match: ofDid });
    return;
  }
  const block = descBlock(d.addr, d.am);
  const ss = (t: VtdTag) => ofDid(t) && t.stage === "ss";
  const fs = (t: VtdTag) => ofDid(t) && t.stage === "fs";
  tlbInvalidate(c.iotlb, { match: ss, ...block });
  tlbInvalidate(c.iotlb, { match: fs });
  tlbInvalidate(c.psc, { match: fs });
  if (!d.ih) tlbInvalidate(c.psc, { match: ss, ...block });
}

/** Follows the PASID-based-IOTLB Invalidate Descriptor (§6.5.2.4, Table 24). */
export function piotlbInvExecute(c: VtdCaches, d: DescFor<"P_IOTLB_INV">): void {
  const ofPasid = (t: VtdTag) => t.did === d.did && t.pasid === d.pasid;
  const fs = (t: VtdTag) => ofPasid(t) && t.stage === "fs";
  if (d.gran === QI_GRAN_NONG_PASID) {
    tlbInvalidate(c.iotlb, { match: ofPasid });
    tlbInvalidate(c.psc, { match: fs });
    return;
  }
  const block = descBlock(d.addr, d.am);
  tlbInvalidate(c.iotlb, { match: fs, ...block });
  if (!d.ih) tlbInvalidate(c.psc, { match: fs, ...block });
}

/** Follows the PASID-cache Invalidate Descriptor (§6.5.2.2). */
export function pcInvExecute(c: VtdCaches, d: DescFor<"PC_INV">): void {
  for (const [k, e] of c.pasid) {
    const hit = d.gran === QI_PC_ALL_PASIDS
      ? e.did === d.did
      : d.gran === QI_PC_PASID_SEL
      ? e.did === d.did && e.pasid === d.pasid
      : true;
    if (hit) c.pasid.delete(k);
  }
}

// Table 21: function-mask values 1, 2, 3 mask source-id bits 2, 2:1 and 2:0.
const FM_BITS = [0, 0b100, 0b110, 0b111];

/** Follows the Context-cache Invalidate Descriptor (§6.5.2.1). */
export function ccInvExecute(c: VtdCaches, d: DescFor<"CC_INV">): void {
  const fm = FM_BITS[d.fm] ?? 0;
  for (const [sid, e] of c.context) {
    const hit = d.gran === QI_CC_GRAN_DEVICE
      ? e.did === d.did && (sid & ~fm) === (d.sid & ~fm)
      : d.gran === QI_CC_GRAN_DOMAIN
      ? e.did === d.did
      : true;
    if (hit) c.context.delete(sid);
  }
}

/**
 * The ATS Invalidate Request a device-TLB descriptor sends (§6.5.2.5-6.5.2.6): the block of
 * `2^order` pages holding ADDR, everything from order 52; the PASID form carries its PASID
 * unless its global bit asks for every PASID.
 */
export function devTlbInvRequest(
  d: DescFor<"DEV_TLB_INV"> | DescFor<"P_DEV_TLB_INV">,
): AtsInvRequest {
  const pasid = d.op === "P_DEV_TLB_INV" && !d.global ? d.pasid : null;
  const order = d.op === "DEV_TLB_INV" ? d.mask : d.size_order;
  if (order >= DEV_TLB_MAX_ORDER) return { pasid };
  return { pasid, ...descBlock(d.addr, order) };
}
