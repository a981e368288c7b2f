/**
 * Attaching and removing PASIDs. A PASID attach writes the PASID's CD and makes sure the STE
 * is a CD-table STE (an identity or blocked RID keeps its behaviour through S1DSS); its ATS
 * entries carry the PASID. Removing a PASID clears its CD, flushes that PASID from the ATC and
 * drops its entries; when it was the last PASID and the RID is identity or blocked, the RID
 * domain is attached again to return to a plain bypass or abort STE (which turns ATS off).
 * Models arm_smmu_set_pasid(), arm_smmu_update_ste(), arm_smmu_s1_set_dev_pasid() and
 * arm_smmu_blocking_set_dev_pasid() of arm-smmu-v3.c and arm_smmu_sva_set_dev_pasid() of
 * arm-smmu-v3-sva.c, at mainline 6a01b9f0a5ec.
 * @module
 */

import { fieldPrep } from "../../bits.ts";
import { warn } from "../../events.ts";
import { atcInvMaster } from "./ats.ts";
import { attachCommit, attachPrepare, removeMasterDomain } from "./attach.ts";
import { armSmmuAttachDev, domainFinaliseFor, smmuMismatch } from "./attach_dev.ts";
import { attachPrepareInvs, attachStateInit, installOldDomainInvs } from "./attach_invs.ts";
import { type Cd, CTXDESC_CD_0_ASID, makeS1Cd, makeSvaCd } from "./cd.ts";
import { allocCdPtr, clearCd, writeCdEntry } from "./cd_table.ts";
import type { IommuDomain, SmmuDomain } from "./domain.ts";
import { type ArmSmmuDriver, armSmmuInstance } from "./driver.ts";
import { errno, type Ret } from "../../errno.ts";
import type { ArmSmmuMaster } from "./master.ts";
import { makeCdtableSte, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1DSS_TERMINATE } from "./ste.ts";
import { installSteForDev, steContext } from "./strtab.ts";

/** Arguments of the PASID attach ops. */
export interface SetPasidOptions {
  /** The PASID (non-zero). */
  readonly pasid: number;
  /** The domain at this PASID now (null when none). */
  readonly old: IommuDomain | null;
}

// iommu_driver_get_domain_for_dev(): before any attach the STE is the initial abort one,
// which behaves as the blocked domain.
function sidDomainOf(drv: ArmSmmuDriver, master: ArmSmmuMaster): IommuDomain {
  return master.domain ?? drv.blockedDomain;
}

/**
 * Follows arm_smmu_update_ste(): makes the STE a CD-table STE whose S1DSS keeps the RID's
 * identity or blocked behaviour, unless the installed one already is, with the right EATS.
 */
function updateSte(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly sidDomain: IommuDomain; readonly atsEnabled: boolean },
): void {
  if (master.cdTable.inSte && master.steAtsEnabled === opts.atsEnabled) return;
  let s1dss = STRTAB_STE_1_S1DSS_TERMINATE;
  if (opts.sidDomain.type === "identity") s1dss = STRTAB_STE_1_S1DSS_BYPASS;
  else if (opts.sidDomain.type !== "blocked") {
    warn(drv.log, "arm_smmu_update_ste", "WARN_ON: RID domain is neither identity nor blocked");
  }
  const ste = makeCdtableSte({ ...steContext(drv, master), cdTable: master.cdTable }, {
    atsEnabled: opts.atsEnabled,
    s1dss,
  });
  installSteForDev(drv, master, { target: ste });
}

/**
 * Follows arm_smmu_set_pasid(): prepare, write the PASID's CD (with the domain's ASID taken
 * under the lock), make the STE a CD-table one, commit. The RID must already use the CD table
 * or be identity/blocked.
 */
export function setPasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: SetPasidOptions & { readonly domain: SmmuDomain; readonly cd: Cd },
): Ret {
  const { domain, pasid, cd } = opts;
  const sidDomain = sidDomainOf(drv, master);
  if (smmuMismatch(drv, master, domain)) return errno("EINVAL");
  if (!master.cdTable.inSte && sidDomain.type !== "identity" && sidDomain.type !== "blocked") {
    return errno("EINVAL");
  }
  const cdptr = allocCdPtr(drv, master, { ssid: pasid });
  const state = attachStateInit(master, { oldDomain: opts.old, ssid: pasid });
  const ret = attachPrepare(drv, state, { newDomain: domain });
  if (ret !== 0) return ret;
  const target = [...cd];
  target[0] = (target[0] & ~CTXDESC_CD_0_ASID) | fieldPrep(BigInt(domain.asid), 63, 48);
  writeCdEntry(master, cdptr, { ssid: pasid, target });
  updateSte(drv, master, { sidDomain, atsEnabled: state.atsEnabled });
  attachCommit(drv, state);
  return 0;
}

/** Follows arm_smmu_s1_set_dev_pasid(): an S1 paging domain at a PASID. */
export function s1SetDevPasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: SetPasidOptions & { readonly domain: SmmuDomain },
): Ret {
  const { domain } = opts;
  const fin = domainFinaliseFor(drv, domain, { master });
  if (fin !== 0) return fin;
  if (smmuMismatch(drv, master, domain)) return errno("EINVAL");
  if (domain.stage !== "s1" || !domain.s1) return errno("EINVAL");
  const cd = makeS1Cd({ asid: domain.asid, s1: domain.s1, stallEnabled: master.stallEnabled });
  return setPasid(drv, master, { ...opts, cd });
}

/** Follows arm_smmu_sva_set_dev_pasid(): a process address space at a PASID. */
export function svaSetDevPasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: SetPasidOptions & { readonly domain: SmmuDomain },
): Ret {
  const { domain } = opts;
  if (!master.smmu.features.sva) return errno("EOPNOTSUPP");
  const fin = domainFinaliseFor(drv, domain, { master });
  if (fin !== 0) return fin;
  const cd = makeSvaCd({
    asid: domain.asid,
    mm: domain.mm,
    cpu: domain.cpu,
    stallEnabled: master.stallEnabled,
    stallForce: armSmmuInstance(drv, master.smmu).stallForce,
  });
  return setPasid(drv, master, { ...opts, cd });
}

/**
 * Follows arm_smmu_blocking_set_dev_pasid(): removes the PASID's attachment to `old`. It
 * cannot fail: only the old domain's half of prepare runs. When no PASID is left and the RID
 * is identity or blocked, that domain's attach_dev runs again (old = itself) to drop the CD
 * table from the STE.
 */
export function blockingSetDevPasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly pasid: number; readonly old: IommuDomain },
): Ret {
  const { pasid, old } = opts;
  const state = attachStateInit(master, { oldDomain: old, ssid: pasid });
  attachPrepareInvs(drv, state, { newDomain: null });
  clearCd(master, pasid);
  if (master.atsEnabled) atcInvMaster(master, pasid);
  removeMasterDomain(master, { domain: old, ssid: pasid });
  installOldDomainInvs(drv, state);
  if (!master.cdTable.usedSsids) {
    const sidDomain = sidDomainOf(drv, master);
    if (sidDomain.type === "identity" || sidDomain.type === "blocked") {
      armSmmuAttachDev(drv, master, { domain: sidDomain, old: sidDomain });
    }
  }
  return 0;
}

/** The `set_dev_pasid` op of `domain`'s type. */
export function armSmmuSetDevPasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: SetPasidOptions & { readonly domain: IommuDomain },
): Ret {
  const { domain } = opts;
  switch (domain.type) {
    case "paging":
      return s1SetDevPasid(drv, master, { ...opts, domain });
    case "sva":
      return svaSetDevPasid(drv, master, { ...opts, domain });
    case "blocked":
      if (!opts.old) return 0;
      return blockingSetDevPasid(drv, master, { pasid: opts.pasid, old: opts.old });
    default:
      return errno("EOPNOTSUPP");
  }
}
