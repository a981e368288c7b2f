/**
 * The two halves around an STE/CD change. Prepare decides ATS, prepares both invalidation
 * arrays, adds the attachment to the new domain and publishes its array, and turns PCI ATS off
 * when it is going away; everything that can fail happens here. Commit, after the STE/CD
 * write, flushes the ATC as the change requires (and turns ATS on), removes the old
 * attachment and drops its entries from the old domain's array.
 * Models arm_smmu_attach_prepare(), arm_smmu_attach_commit() and
 * arm_smmu_remove_master_domain() of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline
 * 6a01b9f0a5ec.
 * @module
 */

import { IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import { atcInvMaster, atsSupported, disableAtsPci, enableAts } from "./ats.ts";
import {
  attachPrepareInvs,
  type AttachState,
  installNewDomainInvs,
  installOldDomainInvs,
} from "./attach_invs.ts";
import { type IommuDomain, toSmmuDomainDevices } from "./domain.ts";
import type { ArmSmmuDriver } from "./driver.ts";
import { errno, type Ret } from "../../errno.ts";
import type { ArmSmmuMaster } from "./master.ts";

/**
 * Follows arm_smmu_attach_prepare(). ATS is decided only when the new domain translates or a
 * CD table must stay usable: the SMMU refuses ATS with a plain bypass or abort STE. The new
 * attachment joins the domain's list before any hardware changes, so during the switch both
 * domains send ATC invalidations to the master.
 */
export function attachPrepare(
  drv: ArmSmmuDriver,
  state: AttachState,
  opts: { readonly newDomain: IommuDomain | null },
): Ret {
  const { newDomain } = opts;
  const { master } = state;
  const smmuDomain = toSmmuDomainDevices(newDomain);
  if (smmuDomain || state.cdNeedsAts) {
    state.atsEnabled = !state.disableAts && atsSupported(master);
  }
  const ret = attachPrepareInvs(drv, state, { newDomain });
  if (ret !== 0) return ret;
  if (smmuDomain && newDomain) {
    if (smmuDomain.enforceCacheCoherency && !master.canwbs) return errno("EINVAL");
    if (state.atsEnabled) smmuDomain.nrAtsMasters++;
    // list_add(): newest first. A re-attach leaves two equal entries; commit removes one.
    smmuDomain.devices.unshift({
      master,
      domain: newDomain,
      ssid: state.ssid,
      nestedAtsFlush: newDomain.type === "nested" ? newDomain.enableAts : false,
    });
    installNewDomainInvs(drv, state);
  }
  if (!state.atsEnabled && master.atsEnabled) {
    // The config write should land before the STE starts refusing ATS (no AER noise).
    disableAtsPci(master);
  }
  return 0;
}

/**
 * Follows arm_smmu_remove_master_domain(): takes the attachment of `master` at `ssid` off the
 * list of the domain tracking `domain`.
 */
export function removeMasterDomain(
  master: ArmSmmuMaster,
  opts: { readonly domain: IommuDomain | null; readonly ssid: number },
): void {
  const { domain, ssid } = opts;
  const smmuDomain = toSmmuDomainDevices(domain);
  if (!smmuDomain || !domain) return;
  const nestedAtsFlush = domain.type === "nested" ? domain.enableAts : false;
  const i = smmuDomain.devices.findIndex((md) =>
    md.master === master && md.domain === domain && md.ssid === ssid &&
    md.nestedAtsFlush === nestedAtsFlush
  );
  if (i < 0) return;
  smmuDomain.devices.splice(i, 1);
  if (master.atsEnabled) smmuDomain.nrAtsMasters--;
}

/**
 * Follows arm_smmu_attach_commit(). Turning ATS on first empties the ATC; with ATS staying on
 * the translation changed, so the attachment's PASID is flushed (both domains still
 * invalidate for the master at this point); turning it off empties the whole ATC. Then the
 * old attachment goes and its entries leave the old domain's array.
 */
export function attachCommit(drv: ArmSmmuDriver, state: AttachState): void {
  const { master } = state;
  if (state.atsEnabled && !master.atsEnabled) {
    enableAts(master);
  } else if (state.atsEnabled && master.atsEnabled) {
    atcInvMaster(master, state.ssid);
  } else if (!state.atsEnabled && master.atsEnabled) {
    atcInvMaster(master, IOMMU_NO_PASID);
  }
  removeMasterDomain(master, { domain: state.oldDomain, ssid: state.ssid });
  installOldDomainInvs(drv, state);
  master.atsEnabled = state.atsEnabled;
}
