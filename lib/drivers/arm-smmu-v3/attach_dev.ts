/**
 * Attaching a master's RID (StreamIDs without PASID) to a domain, at the driver level: the
 * `attach_dev` op of each domain type. Paging domains write CD 0 (S1) and a CD-table STE, or
 * an S2 STE; identity and blocked write a bypass or abort STE (or keep the CD table with
 * S1DSS bypass/abort while PASIDs are in use) and cannot fail; nested domains write the
 * guest's vSTE over the parent's stage 2. Every path is prepare, STE/CD writes, commit.
 * Models arm_smmu_attach_dev(), arm_smmu_attach_dev_ste(), arm_smmu_attach_dev_identity(),
 * arm_smmu_attach_dev_blocked() of arm-smmu-v3.c and arm_smmu_attach_dev_nested() of
 * arm-smmu-v3-iommufd.c, at mainline 6a01b9f0a5ec.
 * @module
 */

import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import { IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import { attachCommit, attachPrepare } from "./attach.ts";
import { attachStateInit } from "./attach_invs.ts";
import { makeS1Cd } from "./cd.ts";
import { allocCdPtr, clearCd, writeCdEntry } from "./cd_table.ts";
import {
  domainFinalise,
  type IommuDomain,
  type NestedDomain,
  type SmmuDomain,
  type StaticDomain,
} from "./domain.ts";
import type { ArmSmmuDriver } from "./driver.ts";
import { errno, type Ret } from "../../errno.ts";
import type { ArmSmmuMaster } from "./master.ts";
import {
  makeAbortSte,
  makeBypassSte,
  makeCdtableSte,
  makeNestedDomainSte,
  makeS2DomainSte,
  type S2PgtblCfg,
  type Ste,
  STRTAB_STE_1_S1DSS_BYPASS,
  STRTAB_STE_1_S1DSS_SSID0,
  STRTAB_STE_1_S1DSS_TERMINATE,
} from "./ste.ts";
import { installSteForDev, steContext } from "./strtab.ts";

/** Arguments of the driver attach ops: the iommu core passes the domain being replaced. */
export interface AttachDevOptions {
  /** The RID's current domain (null before the first attach). */
  readonly old: IommuDomain | null;
}

/**
 * The SMMU check of the attach paths. Mainline refuses a domain of another SMMU; the
 * `"multi-smmu"` variant lets one domain span SMMUs, which the array supports.
 */
export function smmuMismatch(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  domain: { readonly smmu: SmmuDevice | null },
): boolean {
  return drv.variant !== "multi-smmu" && domain.smmu !== master.smmu;
}

/** Finalises a domain at its first attach, like allocating it for that device would. */
export function domainFinaliseFor(
  drv: ArmSmmuDriver,
  domain: SmmuDomain,
  opts: { readonly master: ArmSmmuMaster },
): Ret {
  return domain.smmu ? 0 : domainFinalise(drv, domain, { smmu: opts.master.smmu });
}

/** Follows arm_smmu_attach_dev(): a paging domain at the RID. */
export function attachDevPaging(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: AttachDevOptions & { readonly domain: SmmuDomain },
): Ret {
  const { domain } = opts;
  const fin = domainFinaliseFor(drv, domain, { master });
  if (fin !== 0) return fin;
  if (smmuMismatch(drv, master, domain)) return errno("EINVAL");
  const cdptr = domain.stage === "s1" ? allocCdPtr(drv, master, { ssid: IOMMU_NO_PASID }) : null;
  // An S2 STE has no CD table, so it cannot serve attached PASIDs.
  if (!cdptr && master.cdTable.usedSsids) return errno("EBUSY");
  const state = attachStateInit(master, { oldDomain: opts.old, ssid: IOMMU_NO_PASID });
  const ret = attachPrepare(drv, state, { newDomain: domain });
  if (ret !== 0) return ret;
  const ctx = steContext(drv, master);
  if (cdptr && domain.s1) {
    const target = makeS1Cd({
      asid: domain.asid,
      s1: domain.s1,
      stallEnabled: master.stallEnabled,
    });
    writeCdEntry(master, cdptr, { ssid: IOMMU_NO_PASID, target });
    const ste = makeCdtableSte({ ...ctx, cdTable: master.cdTable }, {
      atsEnabled: state.atsEnabled,
      s1dss: STRTAB_STE_1_S1DSS_SSID0,
    });
    installSteForDev(drv, master, { target: ste });
  } else {
    const ste = makeS2DomainSte({ ...ctx, vmid: domain.vmid, s2: domain.s2 as S2PgtblCfg }, {
      atsEnabled: state.atsEnabled,
    });
    installSteForDev(drv, master, { target: ste });
    clearCd(master, IOMMU_NO_PASID);
  }
  attachCommit(drv, state);
  return 0;
}

/**
 * Follows arm_smmu_attach_dev_ste(): installs `ste`, or, while PASIDs are in use, a CD-table
 * STE with `s1dss` for the RID and ATS kept on (a PASID may be using it; S1DSS bypass works
 * with ATS). CD 0 is cleared afterwards, once the master has left the old domain's list.
 */
function attachDevSte(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  domain: StaticDomain,
  opts: AttachDevOptions & { readonly ste: Ste; readonly s1dss: number },
): void {
  const state = attachStateInit(master, { oldDomain: opts.old, ssid: IOMMU_NO_PASID });
  let ste = opts.ste;
  if (master.cdTable.usedSsids) {
    state.cdNeedsAts = true;
    attachPrepare(drv, state, { newDomain: domain });
    ste = makeCdtableSte({ ...steContext(drv, master), cdTable: master.cdTable }, {
      atsEnabled: state.atsEnabled,
      s1dss: opts.s1dss,
    });
  } else {
    // Only the old domain's half runs, which does not allocate: this cannot fail.
    attachPrepare(drv, state, { newDomain: domain });
  }
  installSteForDev(drv, master, { target: ste });
  attachCommit(drv, state);
  clearCd(master, IOMMU_NO_PASID);
}

/** Follows arm_smmu_attach_dev_identity(): bypass. */
export function attachDevIdentity(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: AttachDevOptions,
): Ret {
  const ste = makeBypassSte(steContext(drv, master));
  attachDevSte(drv, master, drv.identityDomain, { ...opts, ste, s1dss: STRTAB_STE_1_S1DSS_BYPASS });
  return 0;
}

/** Follows arm_smmu_attach_dev_blocked(): abort. */
export function attachDevBlocked(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: AttachDevOptions,
): Ret {
  attachDevSte(drv, master, drv.blockedDomain, {
    ...opts,
    ste: makeAbortSte(),
    s1dss: STRTAB_STE_1_S1DSS_TERMINATE,
  });
  return 0;
}

/**
 * Follows arm_smmu_attach_dev_nested(). The guest controls ATS at its virtual PCI function
 * and sends its own ATC invalidations, so ATS follows the vSTE's EATS request.
 */
export function attachDevNested(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: AttachDevOptions & { readonly domain: NestedDomain },
): Ret {
  const { domain } = opts;
  if (domain.vsmmu.smmu !== master.smmu) return errno("EINVAL");
  if (master.cdTable.usedSsids) return errno("EBUSY");
  const state = attachStateInit(master, { oldDomain: opts.old, ssid: IOMMU_NO_PASID });
  state.disableAts = !domain.enableAts;
  const ret = attachPrepare(drv, state, { newDomain: domain });
  if (ret !== 0) return ret;
  const parent = domain.vsmmu.s2Parent;
  const ste = makeNestedDomainSte(
    { ...steContext(drv, master), vmid: parent.vmid, s2: parent.s2 as S2PgtblCfg },
    { vste: domain.ste, atsEnabled: state.atsEnabled },
  );
  installSteForDev(drv, master, { target: ste });
  attachCommit(drv, state);
  return 0;
}

/** The `attach_dev` op of `domain`'s type. SVA domains have none (PASIDs only): -EINVAL. */
export function armSmmuAttachDev(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: AttachDevOptions & { readonly domain: IommuDomain },
): Ret {
  const { domain } = opts;
  switch (domain.type) {
    case "paging":
      return attachDevPaging(drv, master, { ...opts, domain });
    case "identity":
      return attachDevIdentity(drv, master, opts);
    case "blocked":
      return attachDevBlocked(drv, master, opts);
    case "nested":
      return attachDevNested(drv, master, { ...opts, domain });
    case "sva":
      return errno("EINVAL");
  }
}
