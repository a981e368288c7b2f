/**
 * Legacy-mode (non-scalable) context entries: programming a device's entry with the
 * flushes a non-present-to-present change needs, and clearing it with the flushes the
 * spec's guidance asks for (context cache, IOTLB, device-TLB). ATS follows the entry: on
 * once it is programmed, off once it is cleared.
 * Models domain_context_mapping_one() / context_present_cache_flush(),
 * domain_context_clear_one() and intel_context_flush_no_pasid() of
 * drivers/iommu/intel/{iommu,pasid}.c (v6.12 … v7.1 queue; one entry per device, DMA
 * aliases not modelled).
 * @module
 */

import { smSupported, type VtdIommu } from "../../hw/vtd/iommu.ts";
import type { DeviceDomainInfo } from "./device.ts";
import { type DmarDomain, domainIdIommu } from "./domain.ts";
import { MAX_AGAW_PFN_WIDTH } from "./psi_aligned_address.ts";
import {
  devIotlbArgs,
  flushContextDevice,
  flushIotlbDsi,
  IOMMU_NO_PASID,
  iommuFlushWriteBuffer,
  qiFlushDevIotlb,
  quirkExtraDevTlbFlush,
} from "./qi_flush.ts";

/**
 * Follows context_present_cache_flush(): a unit in caching mode may have cached the
 * entry as not present, tagged with domain id 0, so that is flushed; otherwise only the
 * write buffer.
 */
export function contextPresentCacheFlush(iommu: VtdIommu, o: { did: number; sid: number }): void {
  if (iommu.caps.caching_mode) {
    flushContextDevice(iommu, { did: 0, sid: o.sid });
    flushIotlbDsi(iommu, o.did);
  } else {
    iommuFlushWriteBuffer(iommu);
  }
}

/** Follows domain_context_mapping(): programs the device's context entry for `domain`. */
export function domainContextMapping(domain: DmarDomain, dev: DeviceDomainInfo): 0 {
  if (dev.contextDid !== null) return 0;
  const did = domainIdIommu(domain, dev.iommu);
  dev.contextDid = did;
  contextPresentCacheFlush(dev.iommu, { did, sid: dev.sid });
  if (dev.atsSupported) dev.atsEnabled = true;
  return 0;
}

// __context_flush_dev_iotlb(): the whole device-TLB, quirk included (DMA may still run).
function contextFlushDevIotlb(dev: DeviceDomainInfo): void {
  if (!dev.atsEnabled) return;
  const a = devIotlbArgs(dev);
  qiFlushDevIotlb(dev.iommu, a);
  quirkExtraDevTlbFlush(dev, {
    addr: 0n,
    mask: MAX_AGAW_PFN_WIDTH,
    pasid: IOMMU_NO_PASID,
    qdep: dev.atsQdep,
  });
}

/**
 * Follows intel_context_flush_no_pasid(): device-selective context-cache flush, then in
 * legacy mode the domain's IOTLB, then the whole device-TLB.
 */
export function intelContextFlushNoPasid(dev: DeviceDomainInfo, did: number): void {
  const iommu = dev.iommu;
  flushContextDevice(iommu, { did, sid: dev.sid });
  if (!smSupported(iommu)) flushIotlbDsi(iommu, did);
  contextFlushDevIotlb(dev);
}

/** Follows domain_context_clear(): clears the entry, flushes, then turns ATS off. */
export function domainContextClear(dev: DeviceDomainInfo): void {
  const did = dev.contextDid;
  if (did !== null) {
    dev.contextDid = null;
    intelContextFlushNoPasid(dev, did);
  }
  dev.atsEnabled = false;
}
