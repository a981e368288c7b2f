/**
 * PCI ATS of a master: whether it may be used, and the full ATC flushes around turning it on
 * or switching what it translates. The PCI config writes themselves are trace events.
 * Models arm_smmu_ats_supported(), arm_smmu_atc_inv_master() and arm_smmu_enable_ats() of
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline 6a01b9f0a5ec.
 * @module
 */

import { trace } from "../../events.ts";
import { cmdqBatchAdd, cmdqBatchInit, cmdqBatchSubmit } from "../../hw/smmuv3/cmdq.ts";
import { atcInvToCmd, IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import type { ArmSmmuMaster } from "./master.ts";

/**
 * Follows arm_smmu_ats_supported(): the SMMU, the root complex and the PCI device must all
 * support ATS.
 */
export function atsSupported(master: ArmSmmuMaster): boolean {
  return master.smmu.features.ats && master.rcAts && master.pci && master.atsCapable;
}

/**
 * Follows arm_smmu_atc_inv_master(): one full ATC_INV for `ssid` per StreamID, then a SYNC.
 * With `ssid` 0 the request carries no PASID and empties the whole ATC.
 */
export function atcInvMaster(master: ArmSmmuMaster, ssid: number): number {
  const batch = cmdqBatchInit(master.smmu);
  for (const sid of master.streams) {
    cmdqBatchAdd(batch, atcInvToCmd({ sid, ssid, iova: 0n, size: 0n }));
  }
  return cmdqBatchSubmit(batch);
}

// The config write of pci_enable_ats()/pci_disable_ats(): the function's ATS Enable bit, in
// the hardware model (functions without an ATS model have nothing to set).
function pciAtsEnableSet(master: ArmSmmuMaster, on: boolean): void {
  for (const sid of master.streams) {
    const ep = master.smmu.hw.endpoints.get(sid);
    if (ep) ep.atsEnabled = on;
  }
}

/**
 * Follows arm_smmu_enable_ats(): empties the ATC (it may hold entries from before), then sets
 * the PCI ATS enable bit with the smallest page size as STU.
 */
export function enableAts(master: ArmSmmuMaster): void {
  atcInvMaster(master, IOMMU_NO_PASID);
  trace(master.smmu.cmdq.log, "pci_enable_ats", { master: master.name });
  pciAtsEnableSet(master, true);
}

/** `pci_disable_ats()` as the attach path calls it, before the STE stops allowing ATS. */
export function disableAtsPci(master: ArmSmmuMaster): void {
  trace(master.smmu.cmdq.log, "pci_disable_ats", { master: master.name });
  pciAtsEnableSet(master, false);
}
