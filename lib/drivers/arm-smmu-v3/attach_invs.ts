/**
 * Moving a master's entries between two domains' invalidation arrays during an attach. Both
 * new arrays are prepared before any hardware changes (the merge is the only step that can
 * fail); the new domain's array is published before the STE points at it, and the old
 * domain's entries are dropped only after the STE has switched away, so one of the two
 * domains always invalidates for the master. When the old domain's ASID or VMID loses its
 * last user it is flushed right away: an ASID or VMID in no array must be clean in the IOTLB,
 * since no unmap would invalidate it any more.
 * Models `struct arm_smmu_inv_state`, arm_smmu_attach_prepare_invs(),
 * arm_smmu_install_new_domain_invs(), arm_smmu_inv_flush_iotlb_tag() and
 * arm_smmu_install_old_domain_invs() of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline
 * 6a01b9f0a5ec, with the v9 unref-callback sequence as the `"v9"` variant.
 * @module
 */

import { trace, warn } from "../../events.ts";
import { type Cmd, makeCmd } from "../../hw/smmuv3/cmd.ts";
import { cmdqIssueCmdWithSync } from "../../hw/smmuv3/cmdq.ts";
import { type IommuDomain, type SmmuDomain, toSmmuDomainDevices } from "./domain.ts";
import { type ArmSmmuDriver, drvAllocFails, drvInjects } from "./driver.ts";
import { isErr, type Ret } from "../../errno.ts";
import {
  type Inv,
  type Invs,
  invsMerge,
  invsPurge,
  invsUnref,
  invsUnrefV9,
  type InvsVariant,
} from "./invs.ts";
import { type ArmSmmuMaster, masterBuildInvs } from "./master.ts";

/** `struct arm_smmu_inv_state`: one domain's pending array change. */
export interface InvState {
  /** The domain whose array changes (`invs_ptr`); null when none does. */
  domain: SmmuDomain | null;
  /** Its array when the attach began (or, on re-attach, the merged one). */
  oldInvs: Invs | null;
  /** New domain: the merged array to publish. Old domain: the scratch of entries to drop. */
  newInvs: Invs | null;
}

/** `struct arm_smmu_attach_state`. */
export interface AttachState {
  /** The master being attached. */
  readonly master: ArmSmmuMaster;
  /** The domain the RID or PASID is attached to now. */
  readonly oldDomain: IommuDomain | null;
  /** 0 for the RID, else the PASID. */
  readonly ssid: number;
  /** PASIDs are in use, so ATS must stay on even for an identity or blocked RID. */
  cdNeedsAts: boolean;
  /** The nested domain's guest did not enable ATS. */
  disableAts: boolean;
  /** Result: ATS on for the new attachment. */
  atsEnabled: boolean;
  /** The new domain's pending array. */
  readonly newDomainInvst: InvState;
  /** The old domain's pending array. */
  readonly oldDomainInvst: InvState;
}

/** An attach state with nothing prepared yet. */
export function attachStateInit(
  master: ArmSmmuMaster,
  opts: { readonly oldDomain: IommuDomain | null; readonly ssid: number },
): AttachState {
  return {
    master,
    oldDomain: opts.oldDomain,
    ssid: opts.ssid,
    cdNeedsAts: false,
    disableAts: false,
    atsEnabled: false,
    newDomainInvst: { domain: null, oldInvs: null, newInvs: null },
    oldDomainInvst: { domain: null, oldInvs: null, newInvs: null },
  };
}

/** The array-algorithm variant of the driver variant. */
export function invsVariant(drv: ArmSmmuDriver): InvsVariant {
  return drv.variant === "v9" ? "v9" : "mainline";
}

/**
 * Follows arm_smmu_attach_prepare_invs(): builds and merges the new domain's array, then
 * builds the old domain's entries to drop, reusing the one scratch array (the merge already
 * copied what it needed). The old entries are built with the master's current ATS state; on a
 * re-attach they are dropped from the just-merged array.
 */
export function attachPrepareInvs(
  drv: ArmSmmuDriver,
  state: AttachState,
  opts: { readonly newDomain: IommuDomain | null },
): Ret {
  const { newDomain } = opts;
  const oldSmmuDomain = toSmmuDomainDevices(state.oldDomain);
  const newSmmuDomain = toSmmuDomainDevices(newDomain);
  const { master, ssid } = state;
  const log = drv.log;
  if (newSmmuDomain) {
    const invst = state.newDomainInvst;
    invst.domain = newSmmuDomain;
    invst.oldInvs = newSmmuDomain.invs;
    const build = masterBuildInvs(master, newSmmuDomain, {
      atsEnabled: state.atsEnabled,
      ssid,
      log,
    });
    if (!build) return { errno: "EINVAL" };
    const merged = invsMerge(invst.oldInvs, build, {
      log,
      variant: invsVariant(drv),
      nomem: drvAllocFails(drv),
    });
    if (isErr(merged)) return merged;
    invst.newInvs = merged;
  }
  if (oldSmmuDomain) {
    const invst = state.oldDomainInvst;
    invst.domain = oldSmmuDomain;
    invst.oldInvs = newSmmuDomain === oldSmmuDomain
      ? state.newDomainInvst.newInvs
      : oldSmmuDomain.invs;
    invst.newInvs = masterBuildInvs(master, oldSmmuDomain, {
      atsEnabled: master.atsEnabled,
      ssid,
      log,
    });
  }
  return 0;
}

function publish(drv: ArmSmmuDriver, domain: SmmuDomain, invs: Invs, by: string): void {
  domain.invs = invs;
  trace(drv.log, "invs_publish", {
    domain: domain.name,
    by,
    num_invs: invs.numInvs,
    num_trashes: invs.numTrashes,
  });
}

/**
 * Follows arm_smmu_install_new_domain_invs(): publishes the merged array; from here on the
 * new domain's invalidations cover the master. Must run before the STE is installed.
 */
export function installNewDomainInvs(drv: ArmSmmuDriver, state: AttachState): void {
  const invst = state.newDomainInvst;
  if (!invst.domain || !invst.newInvs) return;
  publish(drv, invst.domain, invst.newInvs, "merge");
}

/**
 * Follows arm_smmu_inv_flush_iotlb_tag(): the whole-ASID or whole-VMID command with a SYNC.
 * S12_VMALL also covers what the S1 clear entry of a nesting parent would; other types have
 * no IOTLB tag.
 */
export function invFlushIotlbTag(inv: Inv): void {
  let cmd: Cmd;
  if (inv.type === "S1_ASID") {
    cmd = inv.nsizeOpcode === "TLBI_EL2_ASID"
      ? makeCmd("TLBI_EL2_ASID", { asid: inv.id })
      : makeCmd("TLBI_NH_ASID", { asid: inv.id });
  } else if (inv.type === "S2_VMID") {
    cmd = makeCmd("TLBI_S12_VMALL", { vmid: inv.id });
  } else {
    return;
  }
  cmdqIssueCmdWithSync(inv.smmu, cmd);
}

/**
 * Follows arm_smmu_install_old_domain_invs(): drops the master's entries from the old domain's
 * array in place, flushes the IOTLB tag if its last user left (the tag is the scratch's first
 * entry, and unref marks it 0), then publishes a purged copy when there is trash to drop.
 * Must run after the STE is installed.
 */
export function installOldDomainInvs(drv: ArmSmmuDriver, state: AttachState): void {
  const invst = state.oldDomainInvst;
  if (!invst.domain || !invst.oldInvs) return;
  const oldInvs = invst.oldInvs;
  const build = invst.newInvs;
  if (!build) {
    warn(drv.log, "arm_smmu_install_old_domain_invs", "no entries were built to unref");
    return;
  }
  const variant = invsVariant(drv);
  // Injected fault (not kernel behaviour): the IOTLB tag of the last user is not flushed.
  const flushTag = !drvInjects(drv, "detach_no_tag_flush");
  if (variant === "v9") {
    // v9: unref calls the tag flush for each entry whose refcount drops to zero.
    for (const e of invsUnrefV9(oldInvs, build, { log: drv.log })) {
      if (flushTag) invFlushIotlbTag(e);
    }
  } else {
    invsUnref(oldInvs, build, { log: drv.log });
  }
  trace(drv.log, "invs_unref", {
    domain: invst.domain.name,
    num_invs: oldInvs.numInvs,
    num_trashes: oldInvs.numTrashes,
  });
  if (variant === "mainline" && flushTag && build.numInvs > 0 && build.inv[0].users === 0) {
    invFlushIotlbTag(build.inv[0]);
  }
  const purged = invsPurge(oldInvs, { log: drv.log, variant, nomem: drvAllocFails(drv) });
  if (purged === null) return;
  if (isErr(purged)) {
    // v9 returned ERR_PTR(-ENOMEM) here and its caller published it as the array.
    warn(drv.log, "arm_smmu_install_old_domain_invs", "ERR_PTR(-ENOMEM) published as invs");
    return;
  }
  publish(drv, invst.domain, purged, "purge");
}
