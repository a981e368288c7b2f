/**
 * What one cache tag turns into during a domain flush: the IOTLB descriptor (second-stage
 * PSI with its domain-selective fallback, or PASID-based for first-stage, SVA and nested
 * domains) and the device-TLB descriptors (PASID form for PASID tags, doubled for quirky
 * endpoints), per variant.
 * Models cache_tag_flush_iotlb(), cache_tag_flush_devtlb_psi() and
 * cache_tag_flush_devtlb_all() of drivers/iommu/intel/cache.c (v6.12 … v7.1 queue), and
 * the same steps written inline in cache_tag_flush_range/_all() of v6.10.
 * @module
 */

import { U64_MAX } from "../../bits.ts";
import { QI_IOTLB_GRAN_DSI, QI_IOTLB_GRAN_PSI } from "../../hw/vtd/desc.ts";
import type { CacheTag } from "./cache_tag.ts";
import { type DmarDomain, domainUsePiotlb } from "./domain.ts";
import { MAX_AGAW_PFN_WIDTH } from "./psi_aligned_address.ts";
import {
  type BatchTarget,
  qiBatchAddDevIotlb,
  qiBatchAddIotlb,
  qiBatchAddPasidDevIotlb,
  qiBatchAddPiotlb,
  qiBatchAddPiotlbAll,
  qiBatchAddPiotlbPages,
} from "./qi_batch.ts";
import type { IotlbGran } from "./qi_desc.ts";
import { devIotlbArgs, IOMMU_NO_PASID, iommuFlushIotlbReg } from "./qi_flush.ts";
import { variantFeatures } from "./variant.ts";

/** A PSI block as the flush walk carries it. */
export interface TagRange {
  /** Block start. */
  readonly addr: bigint;
  /** Block pages (-1 as `U64_MAX`: everything), used by the page-count variants. */
  readonly pages: bigint;
  /** log2 of the block in pages. */
  readonly mask: number;
  /** Invalidation hint. */
  readonly ih: 0 | 1;
}

function target(domain: DmarDomain, tag: CacheTag): BatchTarget {
  return {
    iommu: tag.iommu,
    batch: variantFeatures(domain.variant).batched ? domain.qiBatch : null,
  };
}

// PASID-based IOTLB: all-in-PASID once the block is the whole space (v7.1), or the page
// count with -1 meaning all (v6.10 … v6.19). No PSI or MAMV check on this path.
function flushPiotlb(domain: DmarDomain, tag: CacheTag, r: TagRange): void {
  const t = target(domain, tag);
  const ids = { did: tag.domainId, pasid: tag.pasid };
  if (!variantFeatures(domain.variant).piotlbSizeOrder) {
    qiBatchAddPiotlbPages(t, { ...ids, addr: r.addr, npages: r.pages, ih: r.ih === 1 });
  } else if (r.mask >= MAX_AGAW_PFN_WIDTH) {
    qiBatchAddPiotlbAll(t, ids);
  } else {
    qiBatchAddPiotlb(t, { ...ids, addr: r.addr, sizeOrder: r.mask, ih: r.ih === 1 });
  }
}

/**
 * Follows cache_tag_flush_iotlb(): second-stage tags get a page-selective flush, or a
 * domain-selective one when the unit cannot do PSI, the block exceeds its MAMV, or the
 * caller asked for everything; the hint travels in bit 0 of the address. Units without
 * queued invalidation flush through registers.
 */
export function cacheTagFlushIotlb(domain: DmarDomain, tag: CacheTag, r: TagRange): void {
  if (domainUsePiotlb(domain)) return flushPiotlb(domain, tag, r);
  const f = variantFeatures(domain.variant);
  const iommu = tag.iommu;
  let { addr, mask, ih } = r;
  let gran: IotlbGran = QI_IOTLB_GRAN_PSI;
  if (
    !iommu.caps.psi || mask > iommu.mamv || (!f.piotlbSizeOrder && r.pages === U64_MAX)
  ) {
    addr = 0n;
    mask = 0;
    ih = 0;
    gran = QI_IOTLB_GRAN_DSI;
  }
  const a = {
    did: tag.domainId,
    addr: addr | BigInt(ih),
    sizeOrder: mask,
    gran,
    honourIh: f.iotlbIh,
  };
  if (iommu.caps.qis) qiBatchAddIotlb(target(domain, tag), a);
  else iommuFlushIotlbReg(iommu, a);
}

/**
 * Follows cache_tag_flush_devtlb_psi(): the non-PASID descriptor for RID tags, the PASID
 * one otherwise; endpoints with the extra-flush quirk get the same descriptor twice.
 */
export function cacheTagFlushDevtlbPsi(
  domain: DmarDomain,
  tag: CacheTag,
  r: { readonly addr: bigint; readonly mask: number },
): void {
  const dev = tag.dev;
  if (!dev) return;
  const t = target(domain, tag);
  const a = devIotlbArgs(dev, r.addr, r.mask);
  const times = dev.dtlbExtraInval ? 2 : 1;
  for (let i = 0; i < times; i++) {
    if (tag.pasid === IOMMU_NO_PASID) qiBatchAddDevIotlb(t, a);
    else qiBatchAddPasidDevIotlb(t, { ...a, pasid: tag.pasid });
  }
}

/**
 * Follows cache_tag_flush_devtlb_all() (v6.10 … v6.16): the whole device-TLB with the
 * non-PASID descriptor, whatever the tag's PASID.
 */
export function cacheTagFlushDevtlbAll(domain: DmarDomain, tag: CacheTag): void {
  const dev = tag.dev;
  if (!dev) return;
  const t = target(domain, tag);
  const a = devIotlbArgs(dev);
  qiBatchAddDevIotlb(t, a);
  if (dev.dtlbExtraInval) qiBatchAddDevIotlb(t, a);
}
