/**
 * Scalable-mode PASID-table entries: programming one (first-stage, second-stage or nested)
 * with the flushes a new entry needs, and tearing one down with the flushes the spec's
 * invalidation guidance asks for (PASID cache, then IOTLB, then device-TLB).
 * Models intel_pasid_setup_{first,second}_level(), intel_pasid_setup_nested(),
 * pasid_flush_caches(), intel_pasid_tear_down_entry() and devtlb_invalidation_with_pasid()
 * of drivers/iommu/intel/pasid.c (v6.10 … v7.1 queue; page-request draining is not
 * modelled).
 * @module
 */

import { QI_PC_PASID_SEL } from "../../hw/vtd/desc.ts";
import type { VtdIommu } from "../../hw/vtd/iommu.ts";
import type { DeviceDomainInfo, Pgtt } from "./device.ts";
import type { Ret } from "../../errno.ts";
import {
  devIotlbArgs,
  flushIotlbDsi,
  IOMMU_NO_PASID,
  iommuFlushWriteBuffer,
  qiFlushDevIotlb,
  qiFlushDevIotlbPasid,
  qiFlushPasidCache,
  qiFlushPiotlbAll,
} from "./qi_flush.ts";
import { variantFeatures, type VtdVariant } from "./variant.ts";

/** Which entry to program. */
export interface PasidSetupOptions {
  /** PASID (0 for RID traffic). */
  readonly pasid: number;
  /** Domain id to place in the entry. */
  readonly did: number;
}

/**
 * Follows pasid_flush_caches(): a new entry only needs flushing where the unit may have
 * cached its non-present state (caching mode): PASID cache and PASID-IOTLB of the new
 * (DID, PASID). Elsewhere a write-buffer flush suffices; device-TLBs cannot hold
 * translations for an entry that did not exist.
 */
export function pasidFlushCaches(iommu: VtdIommu, o: PasidSetupOptions): void {
  if (iommu.caps.caching_mode) {
    qiFlushPasidCache(iommu, { did: o.did, pasid: o.pasid, gran: QI_PC_PASID_SEL });
    qiFlushPiotlbAll(iommu, { did: o.did, pasid: o.pasid });
  } else {
    iommuFlushWriteBuffer(iommu);
  }
}

function setup(dev: DeviceDomainInfo, o: PasidSetupOptions, pgtt: Pgtt): Ret {
  const cur = dev.pasidTable.get(o.pasid);
  if (cur?.present) return { errno: "EBUSY" };
  dev.pasidTable.set(o.pasid, { present: true, fpd: false, did: o.did, pgtt });
  pasidFlushCaches(dev.iommu, o);
  return 0;
}

/** Follows intel_pasid_setup_first_level(): EINVAL without first-stage support. */
export function intelPasidSetupFirstLevel(
  dev: DeviceDomainInfo,
  o: PasidSetupOptions,
): Ret {
  if (!dev.iommu.caps.flts) return { errno: "EINVAL" };
  return setup(dev, o, "fl");
}

/** Follows intel_pasid_setup_second_level(): EINVAL without second-stage support. */
export function intelPasidSetupSecondLevel(
  dev: DeviceDomainInfo,
  o: PasidSetupOptions,
): Ret {
  if (!dev.iommu.caps.slts) return { errno: "EINVAL" };
  return setup(dev, o, "sl");
}

/** Follows intel_pasid_setup_nested(): the nested domain's own id goes in the entry. */
export function intelPasidSetupNested(dev: DeviceDomainInfo, o: PasidSetupOptions): Ret {
  return setup(dev, o, "nested");
}

/**
 * Follows devtlb_invalidation_with_pasid(): the whole device-TLB of an ATS endpoint, with
 * the non-PASID descriptor for PASID 0 (RID traffic) and the PASID one otherwise. No
 * extra-flush quirk here.
 */
export function devtlbInvalidationWithPasid(dev: DeviceDomainInfo, pasid: number): void {
  if (!dev.atsEnabled) return;
  const a = devIotlbArgs(dev);
  if (pasid === IOMMU_NO_PASID) qiFlushDevIotlb(dev.iommu, a);
  else qiFlushDevIotlbPasid(dev.iommu, { ...a, pasid });
}

/** Which entry to tear down. */
export interface PasidTearDownOptions {
  /** PASID (0 for RID traffic). */
  readonly pasid: number;
  /** Leave the entry fault-processing-disabled instead of clearing it. */
  readonly faultIgnore?: boolean;
  /** Code version (v6.10 skipped the device-TLB flush under caching mode). */
  readonly variant: VtdVariant;
}

/**
 * Follows intel_pasid_tear_down_entry(): clears Present, then flushes the PASID cache,
 * the IOTLB (PASID-wide for first-stage and pass-through entries, whose IOTLB entries are
 * PASID-tagged; domain-wide for second-stage and nested ones, which are not) and the
 * device-TLB, then clears the entry. An entry never set up needs nothing; one left
 * fault-disabled is just cleared.
 */
export function intelPasidTearDownEntry(dev: DeviceDomainInfo, o: PasidTearDownOptions): void {
  const pte = dev.pasidTable.get(o.pasid);
  if (!pte || !pte.present) {
    if (pte?.fpd) dev.pasidTable.delete(o.pasid);
    return;
  }
  const { did, pgtt } = pte;
  const iommu = dev.iommu;
  pte.present = false;
  qiFlushPasidCache(iommu, { did, pasid: o.pasid, gran: QI_PC_PASID_SEL });
  if (pgtt === "pt" || pgtt === "fl") qiFlushPiotlbAll(iommu, { did, pasid: o.pasid });
  else flushIotlbDsi(iommu, did);
  const skip = variantFeatures(o.variant).teardownSkipsDevtlbInCm && iommu.caps.caching_mode;
  if (!skip) devtlbInvalidationWithPasid(dev, o.pasid);
  if (o.faultIgnore) dev.pasidTable.set(o.pasid, { ...pte, present: false, fpd: true });
  else dev.pasidTable.delete(o.pasid);
}
