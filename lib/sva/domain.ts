/**
 * SVA domains as the iommu core sees them: a process address space on one driver's
 * hardware, reached through the driver's ops. arm-smmu-v3 gives each SMMU instance its own
 * domain (its ASID and invalidation array belong to one SMMU, and attaching a master of
 * another SMMU fails); VT-d SVA domains carry no per-unit state (every unit tags them with
 * DID 1), so one domain serves every unit. Domains of different drivers never mix: the core
 * refuses to attach a domain to a device of another driver.
 * Models iommu_sva_domain_alloc(), the `domain_alloc_sva`, `set_dev_pasid`, `free` and
 * mmu-notifier ops of arm-smmu-v3-sva.c (mainline 6a01b9f0a5ec) and intel/svm.c (v6.10 …
 * v7.1 queue), and the driver-compatibility and PASID checks of iommu_attach_device_pasid()
 * (drivers/iommu/iommu.c).
 * @module
 */

import {
  domainAllocSva,
  domainFree,
  iommuAttachDevicePasid as smmuAttachDevicePasid,
  iommuRemoveDevicePasid as smmuRemoveDevicePasid,
  mmArchInvalidateSecondaryTlbs,
  mmRelease,
} from "../drivers/arm-smmu-v3/mod.ts";
import type { ArmSmmuMaster, SmmuDomain } from "../drivers/arm-smmu-v3/mod.ts";
import {
  domainAlloc,
  intelArchInvalidateSecondaryTlbs,
  intelMmRelease,
  iommuAttachDevicePasid as vtdAttachDevicePasid,
  iommuDetachDevicePasid as vtdDetachDevicePasid,
} from "../drivers/intel/mod.ts";
import type { DeviceDomainInfo, DmarDomain } from "../drivers/intel/mod.ts";
import { errno, type ErrnoValue, isErr, type Ret } from "../errno.ts";
import type { Mm } from "./mm.ts";
import type { SvaSystem } from "./system.ts";

/** A device that can be bound, with the driver behind it. */
export type SvaDev =
  | { readonly kind: "smmuv3"; readonly name: string; readonly master: ArmSmmuMaster }
  | { readonly kind: "vtd"; readonly name: string; readonly dev: DeviceDomainInfo };

/** An SVA domain (`struct iommu_domain` of type SVA) and the driver's domain behind it. */
export type SvaDomain =
  & (
    | { readonly kind: "smmuv3"; readonly domain: SmmuDomain }
    | { readonly kind: "vtd"; readonly domain: DmarDomain }
  )
  & {
    /** Name: `<process>@<IOMMU of the first device>`. */
    readonly name: string;
    /** `domain->mm`. */
    readonly mm: Mm;
    /** `domain->users`: bonds using the domain. */
    users: number;
  };

/** PASIDs the device can use (`dev->iommu->max_pasids`); 0 without PASID support. */
export function svaDevMaxPasids(dev: SvaDev): number {
  if (dev.kind === "smmuv3") return dev.master.ssidBits ? 2 ** dev.master.ssidBits : 0;
  return dev.dev.pasidSupported ? 1 << 20 : 0;
}

function iommuName(dev: SvaDev): string {
  return dev.kind === "smmuv3" ? dev.master.smmu.name : dev.dev.iommu.name;
}

/**
 * Follows iommu_sva_domain_alloc() and the driver's `domain_alloc_sva` op: a new domain over
 * `mm` for `dev`'s driver, registered as an mmu notifier of `mm` (newest first). SMMUv3 takes
 * an ASID from the global allocator now.
 */
export function svaDomainAlloc(sys: SvaSystem, dev: SvaDev, mm: Mm): SvaDomain | ErrnoValue {
  const name = `${mm.name}@${iommuName(dev)}`;
  let d: SvaDomain;
  if (dev.kind === "smmuv3") {
    if (!sys.smmu) throw new TypeError("svaDomainAlloc: an SMMUv3 device needs sys.smmu");
    const r = domainAllocSva(sys.smmu, { name, mm: { pgd: mm.pgd }, smmu: dev.master.smmu });
    if (isErr(r)) return r;
    d = { kind: "smmuv3", domain: r, name, mm, users: 0 };
  } else {
    const pasid = mm.iommuMm?.pasid ?? 0;
    const r = domainAlloc(name, sys.log, { kind: "sva", pasid, variant: sys.vtdVariant });
    d = { kind: "vtd", domain: r, name, mm, users: 0 };
  }
  mm.notifiers.unshift(d);
  return d;
}

/**
 * Follows iommu_attach_device_pasid(): a domain of another driver is -EINVAL; otherwise the
 * driver's `set_dev_pasid` (which, for SMMUv3, refuses a master of another SMMU).
 */
export function svaAttachDevPasid(
  sys: SvaSystem,
  d: SvaDomain,
  opts: { readonly dev: SvaDev; readonly pasid: number },
): Ret {
  const { dev, pasid } = opts;
  if (dev.kind === "smmuv3" && d.kind === "smmuv3" && sys.smmu) {
    return smmuAttachDevicePasid(sys.smmu, dev.master, { pasid, domain: d.domain });
  }
  if (dev.kind === "vtd" && d.kind === "vtd") {
    return vtdAttachDevicePasid(d.domain, dev.dev, { pasid });
  }
  return errno("EINVAL");
}

/** Follows iommu_detach_device_pasid(): the blocked domain's `set_dev_pasid`. */
export function svaDetachDevPasid(
  sys: SvaSystem,
  opts: { readonly dev: SvaDev; readonly pasid: number },
): Ret {
  const { dev, pasid } = opts;
  if (dev.kind === "vtd") return vtdDetachDevicePasid(dev.dev, { pasid });
  if (!sys.smmu) throw new TypeError("svaDetachDevPasid: an SMMUv3 device needs sys.smmu");
  return smmuRemoveDevicePasid(sys.smmu, dev.master, { pasid });
}

/** The domain attached at `pasid` of `dev`, if any (the core's PASID array). */
export function svaDevPasidDomain(dev: SvaDev, pasid: number): unknown {
  return dev.kind === "smmuv3" ? dev.master.pasids.get(pasid) : dev.dev.pasidDomains.get(pasid);
}

/**
 * Follows iommu_domain_free() of an SVA domain. SMMUv3 invalidates the ASID before giving it
 * back (arm_smmu_sva_domain_free(); with every device detached the array is empty, so nothing
 * is sent); VT-d only puts the notifier. Either way the notifier leaves the mm's list.
 */
export function svaDomainFree(sys: SvaSystem, d: SvaDomain): void {
  if (d.kind === "smmuv3" && sys.smmu) domainFree(sys.smmu, d.domain);
  const i = d.mm.notifiers.indexOf(d);
  if (i >= 0) d.mm.notifiers.splice(i, 1);
}

/** The domain's `arch_invalidate_secondary_tlbs` notifier op: `[start, end)` changed. */
export function svaDomainInvalidate(
  sys: SvaSystem,
  d: SvaDomain,
  r: { readonly start: bigint; readonly end: bigint },
): void {
  if (d.kind === "vtd") intelArchInvalidateSecondaryTlbs(d.domain, r);
  else if (sys.smmu) mmArchInvalidateSecondaryTlbs(sys.smmu, d.domain, r);
}

/** The domain's `release` notifier op: the process is exiting. */
export function svaDomainRelease(sys: SvaSystem, d: SvaDomain): void {
  if (d.kind === "vtd") intelMmRelease(d.domain);
  else if (sys.smmu) mmRelease(sys.smmu, d.domain);
}
