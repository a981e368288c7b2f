/**
 * The SVA domain's mmu-notifier flush: the CPU page tables of a bound process changed,
 * so every IOTLB and device-TLB that may cache them must drop the range.
 *
 * Since the cache-tag series (v6.10) the notifier is one cache-tag flush: all devices
 * behind one unit share one IOTLB tag (DID 1, the process PASID), so that unit gets one
 * PASID-IOTLB invalidation. Before it (`pre-tags`, v6.9) the notifier walked the bound
 * devices (newest first) and sent each one its own PASID-IOTLB invalidation plus its
 * device-TLB one, each as a separate submission: two devices behind one unit meant two
 * identical PASID-IOTLB invalidations, the duplicate the series removed.
 * When the process exits, the notifier's release op takes every PASID entry of the domain
 * down, left fault-disabled so devices still using the PASID fault silently.
 * Models intel_arch_invalidate_secondary_tlbs() and intel_mm_release() of
 * drivers/iommu/intel/svm.c (v6.10 … v7.1 queue) and, for `pre-tags`,
 * intel_flush_svm_range(), intel_flush_svm_range_dev(), __flush_svm_range_dev() and
 * intel_flush_svm_all() of v6.9.
 * @module
 */

import { fls, ilog2, u64, U64_MAX } from "../../bits.ts";
import { warn } from "../../events.ts";
import { FLPT_DEFAULT_DID } from "../../hw/vtd/iommu.ts";
import { cacheTagFlushAll, cacheTagFlushRange } from "./cache_tag.ts";
import type { DevPasid, DmarDomain } from "./domain.ts";
import { MAX_AGAW_PFN_WIDTH } from "./psi_aligned_address.ts";
import { intelPasidTearDownEntry } from "./pasid.ts";
import { qiFlushDevIotlbPasid, qiFlushPiotlb, quirkExtraDevTlbFlush } from "./qi_flush.ts";
import { variantFeatures } from "./variant.ts";

/** A notifier range: `end` is exclusive (mm convention); `[0, ULONG_MAX]` means all. */
export interface MmRange {
  /** First byte. */
  readonly start: bigint;
  /** First byte after the range, or `U64_MAX` with `start` 0 for everything. */
  readonly end: bigint;
}

/**
 * Follows intel_arch_invalidate_secondary_tlbs(): the whole address space is a full
 * flush; any other range is converted from the mm's exclusive end to the inclusive end
 * the IOMMU code uses, with the hint off (page-table pages may have gone).
 */
export function intelArchInvalidateSecondaryTlbs(domain: DmarDomain, r: MmRange): void {
  if (variantFeatures(domain.variant).svaPerDevice) {
    return intelArchInvalidateSecondaryTlbsPreTags(domain, r);
  }
  if (r.start === 0n && r.end === U64_MAX) return cacheTagFlushAll(domain);
  cacheTagFlushRange(domain, { start: r.start, end: u64(r.end - 1n), ih: 0 });
}

// sdev->qdep: the ATS depth, written as 0 from QI_DEV_EIOTLB_MAX_INVS (32) up.
function sdevQdep(p: DevPasid): number {
  return p.dev.atsQdep >= 32 ? 0 : p.dev.atsQdep;
}

// __flush_svm_range_dev(): one PASID-IOTLB and, for ATS devices, one device-TLB flush.
function flushSvmRangeDev(p: DevPasid, addr: bigint, pages: bigint, ih: boolean): void {
  const { dev, pasid } = p;
  if (pages === 0n) {
    warn(dev.iommu.log, "__flush_svm_range_dev", "WARN_ON(!pages)");
    return;
  }
  qiFlushPiotlb(dev.iommu, { did: FLPT_DEFAULT_DID, pasid, addr, npages: pages, ih });
  if (!dev.atsEnabled) return;
  const mask = ilog2(1n << BigInt(fls(u64(pages - 1n)) & 63));
  const qdep = sdevQdep(p);
  qiFlushDevIotlbPasid(dev.iommu, { sid: dev.sid, pfsid: dev.pfsid, pasid, qdep, addr, mask });
  quirkExtraDevTlbFlush(dev, { addr, mask, pasid, qdep });
}

// intel_flush_svm_range_dev(): the range is cut into naturally aligned blocks of the
// rounded-up page count (at most two), each flushed separately.
function flushSvmRangeDevAligned(p: DevPasid, address: bigint, pages: bigint): void {
  const shift = BigInt(fls(u64(pages - 1n)) & 63);
  const align = u64(1n << (12n + shift));
  const low = u64(align - 1n);
  let start = address & ~low & U64_MAX;
  const end = u64(address + u64(pages << 12n) + low) & ~low & U64_MAX;
  while (start < end) {
    flushSvmRangeDev(p, start, align >> 12n, false);
    start = u64(start + align);
    if (start === 0n) break;
  }
}

// intel_flush_svm_all(): PASID-wide IOTLB and whole device-TLB, device by device.
function flushSvmAll(domain: DmarDomain): void {
  for (const p of domain.devPasids) {
    const { dev, pasid } = p;
    qiFlushPiotlb(dev.iommu, {
      did: FLPT_DEFAULT_DID,
      pasid,
      addr: 0n,
      npages: U64_MAX,
      ih: false,
    });
    if (!dev.atsEnabled) continue;
    const qdep = sdevQdep(p);
    const a = { addr: 0n, mask: MAX_AGAW_PFN_WIDTH, pasid, qdep };
    qiFlushDevIotlbPasid(dev.iommu, { sid: dev.sid, pfsid: dev.pfsid, ...a });
    quirkExtraDevTlbFlush(dev, a);
  }
}

/**
 * The `pre-tags` (v6.9) notifier: every bound device gets its own PASID-IOTLB flush
 * (DID 1), so devices sharing a unit repeat it.
 */
export function intelArchInvalidateSecondaryTlbsPreTags(domain: DmarDomain, r: MmRange): void {
  if (r.start === 0n && r.end === U64_MAX) return flushSvmAll(domain);
  const pages = u64(r.end - r.start + 0xfffn) >> 12n;
  for (const p of domain.devPasids) flushSvmRangeDevAligned(p, r.start, pages);
}

/**
 * Follows intel_mm_release(): called on process exit, possibly before the CPU page tables
 * are cleared, and the notifier gets no invalidation after it; so each (device, PASID) of
 * the domain has its entry torn down now (with its PASID-cache, IOTLB and device-TLB
 * flushes), left fault-disabled so that DMA still in flight faults without reports.
 */
export function intelMmRelease(domain: DmarDomain): void {
  for (const { dev, pasid } of domain.devPasids) {
    intelPasidTearDownEntry(dev, { pasid, faultIgnore: true, variant: domain.variant });
  }
}
