/**
 * An endpoint behind a VT-d unit as the driver tracks it (`struct device_domain_info`):
 * its requester id, the ATS facts the device-TLB descriptors carry (PF source id, queue
 * depth, the extra-flush quirk), PASID support, what it is attached to, and the scalable
 * mode PASID-table / legacy context entries the attach paths write.
 * Models intel_iommu_probe_device() of drivers/iommu/intel/iommu.c (v6.12 … v7.1 queue).
 * @module
 */

import type { VtdIommu } from "../../hw/vtd/iommu.ts";
import type { DmarDomain } from "./domain.ts";

/** `PASID_ENTRY_PGTT_*`: what a PASID-table entry translates with. */
export type Pgtt = "fl" | "sl" | "nested" | "pt";

/** One scalable-mode PASID-table entry, reduced to what teardown reads. */
export interface PasidEntry {
  /** Present bit. */
  present: boolean;
  /** Fault-processing-disabled bit (left set by a teardown with `fault_ignore`). */
  fpd: boolean;
  /** Domain id in the entry. */
  did: number;
  /** Translation type. */
  pgtt: Pgtt;
}

/** A probed device. Plain data (references to its unit and domains only). */
export interface DeviceDomainInfo {
  /** `dev_name()`, shown in cache-tag trace events. */
  readonly name: string;
  /** The unit it sits behind. */
  readonly iommu: VtdIommu;
  /** Requester id `PCI_DEVID(bus, devfn)`. */
  readonly sid: number;
  /** PF requester id when the unit has DIT, else 0 (treated as reserved). */
  readonly pfsid: number;
  /** The unit and the endpoint both do ATS. */
  readonly atsSupported: boolean;
  /** ATS is on (scalable mode: from probe; legacy mode: while a context entry is set). */
  atsEnabled: boolean;
  /** `pci_ats_queue_depth()`: 1 … 32. */
  readonly atsQdep: number;
  /** The endpoint can issue PASID-tagged requests (and the unit supports PASID). */
  readonly pasidSupported: boolean;
  /** `dtlb_extra_inval`: endpoint quirk, every device-TLB flush is sent twice. */
  readonly dtlbExtraInval: boolean;
  /** `info->domain`: the domain attached to the RID, or null (blocked). */
  domain: DmarDomain | null;
  /** Domains attached to PASIDs, by PASID. */
  readonly pasidDomains: Map<number, DmarDomain>;
  /** Scalable-mode PASID table (RID traffic uses PASID 0). */
  readonly pasidTable: Map<number, PasidEntry>;
  /** Legacy-mode context entry: the domain id it holds, or null when not present. */
  contextDid: number | null;
}

/** Options for {@link intelIommuProbeDevice}. */
export interface ProbeDeviceOptions {
  /** Device name (`dev_name()`). */
  readonly name: string;
  /** Requester id (bus << 8 | devfn). */
  readonly sid: number;
  /** PF requester id (for a VF); used only if the unit has DIT. Default `sid`. */
  readonly pfsid?: number;
  /** The endpoint has an ATS capability. */
  readonly ats?: boolean;
  /** ATS invalidate queue depth (default 32). */
  readonly qdep?: number;
  /** The endpoint has a PASID capability. */
  readonly pasid?: boolean;
  /** `dev_needs_extra_dtlb_flush()` matches this endpoint. */
  readonly extraDtlbFlush?: boolean;
}

/**
 * Follows intel_iommu_probe_device(): ATS counts only when the unit has device-TLBs; the
 * PF source id is kept only when the unit throttles device-TLB invalidations (DIT),
 * otherwise the field is reserved and written as 0. In scalable mode ATS is enabled at
 * probe; in legacy mode it is enabled when a context entry is programmed.
 */
export function intelIommuProbeDevice(
  iommu: VtdIommu,
  opts: ProbeDeviceOptions,
): DeviceDomainInfo {
  if (!Number.isInteger(opts.sid) || opts.sid < 0 || opts.sid > 0xffff) {
    throw new RangeError(`Cannot probe ${opts.name}: sid ${opts.sid} is not a 16-bit RID`);
  }
  const qdep = opts.qdep ?? 32;
  if (!Number.isInteger(qdep) || qdep < 1 || qdep > 32) {
    throw new RangeError(`Cannot probe ${opts.name}: ATS queue depth ${qdep} is not in 1..32`);
  }
  const atsSupported = !!opts.ats && iommu.caps.dev_iotlb;
  const sm = iommu.caps.smts;
  return {
    name: opts.name,
    iommu,
    sid: opts.sid,
    pfsid: atsSupported && iommu.caps.dit ? opts.pfsid ?? opts.sid : 0,
    atsSupported,
    atsEnabled: atsSupported && sm,
    atsQdep: atsSupported ? qdep : 0,
    pasidSupported: !!opts.pasid && sm && iommu.caps.pasid,
    dtlbExtraInval: atsSupported && !!opts.extraDtlbFlush,
    domain: null,
    pasidDomains: new Map(),
    pasidTable: new Map(),
    contextDid: null,
  };
}
