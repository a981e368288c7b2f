/**
 * The descriptor builders of the driver: kernel arguments (a DID, an address with the
 * invalidation hint in bit 0, a size order or page count, a queue depth) to typed
 * descriptors, with each version's quirks: the IOTLB descriptor ignoring IH until the
 * 6.18 fix, and PASID-IOTLB descriptors taking a page count before v7.1.
 * Models the `qi_desc_*()` helpers of drivers/iommu/intel/iommu.h (v6.12 … v7.1 queue)
 * and the descriptors qi_flush_*() of dmar.c built inline in v6.10.
 * @module
 */

import { fls, ilog2, u64, U64_MAX } from "../../bits.ts";
import { type EventLog, warn } from "../../events.ts";
import {
  type DescFor,
  devTlbSizeDecode,
  QI_DEV_IOTLB_MAX_INVS,
  QI_GRAN_NONG_PASID,
  QI_GRAN_PSI_PASID,
} from "../../hw/vtd/desc.ts";
import type { VtdIommu } from "../../hw/vtd/iommu.ts";

const PAGE_MASK = ~0xfffn & U64_MAX;

/** `DMA_TLB_*_FLUSH` granularities, as the IOTLB descriptor's G field. */
export type IotlbGran = 1 | 2 | 3;

/** Arguments of {@link qiDescIotlb}. */
export interface IotlbArgs {
  /** Domain id. */
  readonly did: number;
  /** Page address; bit 0 carries the invalidation hint. */
  readonly addr: bigint;
  /** Address mask (log2 pages). */
  readonly sizeOrder: number;
  /** Global, domain-selective or page-selective. */
  readonly gran: IotlbGran;
  /** Take IH from bit 0 of `addr` (the 6.18 fix); before it the descriptor had IH 0. */
  readonly honourIh: boolean;
}

/**
 * Follows qi_desc_iotlb(): DR/DW come from the unit's drain capabilities; the hint rides
 * in bit 0 of the address and is lifted out of it (only since 6.18: earlier builders
 * hard-coded IH 0, so every queued IOTLB flush also dropped paging-structure caches).
 */
export function qiDescIotlb(iommu: VtdIommu, a: IotlbArgs): DescFor<"IOTLB_INV"> {
  return {
    op: "IOTLB_INV",
    gran: a.gran,
    did: a.did,
    addr: a.addr & PAGE_MASK,
    am: a.sizeOrder & 0x3f,
    ih: a.honourIh && (a.addr & 1n) === 1n,
    dr: iommu.caps.read_drain,
    dw: iommu.caps.write_drain,
  };
}

/** Arguments of the device-TLB builders. */
export interface DevIotlbArgs {
  /** Requester id. */
  readonly sid: number;
  /** PF requester id (0 without DIT). */
  readonly pfsid: number;
  /** ATS queue depth. */
  readonly qdep: number;
  /** Address of the range. */
  readonly addr: bigint;
  /** log2 of the range in 4 KiB pages. */
  readonly mask: number;
}

/**
 * What a device reads from the address bits of a device-TLB descriptor. Bits with no clear
 * bit at or above 12 define no size (the flush paths never build them: their addresses are
 * block-aligned); the model reads them as the whole space rather than failing.
 */
function devTlbSizeRead(bits: bigint, s: boolean): { page: bigint; order: number } {
  return s && (bits | 0xfffn) === U64_MAX ? { page: 0n, order: 52 } : devTlbSizeDecode(bits, s);
}

/**
 * Follows qi_desc_dev_iotlb(): a depth of 32 or more is written as 0; a non-zero mask ORs
 * ones below the size bit into the address and sets S. The typed value keeps what the
 * hardware will read back from those bits (for an aligned address, `addr` and `mask`).
 */
export function qiDescDevIotlb(a: DevIotlbArgs): DescFor<"DEV_TLB_INV"> {
  let bits = a.addr;
  // The kernel shifts 1ULL by 12 + mask - 1: for mask 53 (an empty gather's flush) that is a
  // shift by 64, undefined in C; x86 masks the count to 6 bits, so no size bits are set.
  if (a.mask) bits = u64(bits | ((1n << BigInt((12 + a.mask - 1) & 63)) - 1n));
  const { page, order } = devTlbSizeRead(bits & PAGE_MASK, a.mask !== 0);
  return {
    op: "DEV_TLB_INV",
    sid: a.sid & 0xffff,
    pfsid: a.pfsid & 0xffff,
    qdep: a.qdep >= QI_DEV_IOTLB_MAX_INVS ? 0 : a.qdep & 0x1f,
    addr: page,
    mask: order,
  };
}

/**
 * Follows qi_desc_dev_iotlb_pasid(): the depth is masked to 5 bits (32 becomes 0); the
 * size bits are forced whatever the address holds, so an unaligned address is invalidated
 * as its aligned block (the kernel only logs it).
 */
export function qiDescDevIotlbPasid(
  a: DevIotlbArgs & { readonly pasid: number },
): DescFor<"P_DEV_TLB_INV"> {
  const base = {
    op: "P_DEV_TLB_INV",
    sid: a.sid & 0xffff,
    pfsid: a.pfsid & 0xffff,
    pasid: a.pasid & 0xfffff,
    qdep: a.qdep & 0x1f,
    global: false,
  } as const;
  if (12 + a.mask - 1 >= 64) {
    // size_order 53 (an empty gather's flush): the kernel's shifts by 64 are undefined in C;
    // on x86 they set no size bits, so the hardware reads S=1 over the plain page address.
    const { page, order } = devTlbSizeRead(a.addr & ~0xfffn & U64_MAX, true);
    return { ...base, addr: page, size_order: order };
  }
  const size = 4096n << BigInt(a.mask);
  return { ...base, addr: a.addr & ~(size - 1n) & U64_MAX, size_order: a.mask };
}

/** Follows qi_desc_piotlb_all(): every non-global entry of (DID, PASID). */
export function qiDescPiotlbAll(a: { did: number; pasid: number }): DescFor<"P_IOTLB_INV"> {
  return {
    op: "P_IOTLB_INV",
    gran: QI_GRAN_NONG_PASID,
    did: a.did,
    pasid: a.pasid & 0xfffff,
    addr: 0n,
    am: 0,
    ih: false,
  };
}

/** Follows qi_desc_piotlb() (v7.1): page-selective within PASID, from a PSI block. */
export function qiDescPiotlb(
  a: { did: number; pasid: number; addr: bigint; sizeOrder: number; ih: boolean },
): DescFor<"P_IOTLB_INV"> {
  return {
    op: "P_IOTLB_INV",
    gran: QI_GRAN_PSI_PASID,
    did: a.did,
    pasid: a.pasid & 0xfffff,
    addr: a.addr & PAGE_MASK,
    am: a.sizeOrder & 0x3f,
    ih: a.ih,
  };
}

/**
 * Follows qi_desc_piotlb() with a page count (v6.10 … v6.19): -1 pages (`U64_MAX`) is
 * all-in-PASID; otherwise the mask is the page count rounded up to a power of two, and an
 * address not aligned to it WARNs once and is rounded down.
 */
export function qiDescPiotlbPages(
  log: EventLog,
  a: { did: number; pasid: number; addr: bigint; npages: bigint; ih: boolean },
): DescFor<"P_IOTLB_INV"> {
  if (a.npages === U64_MAX) return qiDescPiotlbAll(a);
  const mask = ilog2(1n << BigInt(fls(u64(a.npages - 1n)) & 63));
  const align = u64(1n << BigInt(12 + mask));
  let addr = a.addr;
  if ((addr & u64(align - 1n)) !== 0n) {
    warn(log, "qi_desc_piotlb", "WARN_ON_ONCE(!IS_ALIGNED(addr, align))");
    addr &= ~u64(align - 1n) & U64_MAX;
  }
  return qiDescPiotlb({ did: a.did, pasid: a.pasid, addr, sizeOrder: mask, ih: a.ih });
}
