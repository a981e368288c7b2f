/**
 * Attaching and detaching devices (RID) and PASIDs, with what each step emits: the
 * PASID-table or context entry flushes, the domain-id bookkeeping and the cache tags, in
 * the kernel's order. Entry points follow the IOMMU core calls (`iommu_attach_device`,
 * `iommu_attach_device_pasid`, and their detach), which dispatch to the VT-d ops by
 * domain kind.
 * Models intel_iommu_attach_device(), dmar_domain_attach_device(),
 * device_block_translation(), intel_iommu_set_dev_pasid(), domain_add_dev_pasid(),
 * domain_remove_dev_pasid(), blocking_domain_set_dev_pasid() (iommu.c),
 * intel_nested_attach_dev() / intel_nested_set_dev_pasid() (nested.c) and
 * intel_svm_set_dev_pasid() (svm.c), v6.13 … v7.1 queue (replacing a PASID's domain in
 * place is not modelled: attaching to a PASID in use is EBUSY, as from the core).
 * @module
 */

import { nestedSupported, pasidSupported, smSupported } from "../../hw/vtd/iommu.ts";
import { cacheTagAssignDomain, cacheTagUnassignDomain } from "./cache_tag.ts";
import { domainContextClear, domainContextMapping } from "./context.ts";
import type { DeviceDomainInfo } from "./device.ts";
import {
  type DmarDomain,
  domainAttachIommu,
  domainDetachIommu,
  domainGetIdForDev,
} from "./domain.ts";
import {
  intelPasidSetupFirstLevel,
  intelPasidSetupNested,
  intelPasidSetupSecondLevel,
  intelPasidTearDownEntry,
} from "./pasid.ts";
import { IOMMU_NO_PASID } from "./qi_flush.ts";
import { variantFeatures, VTD_DEFAULT_VARIANT } from "./variant.ts";
import type { Ret } from "../../errno.ts";

/**
 * Follows device_block_translation(): the RID's tags go first, then its entry (PASID 0
 * in scalable mode, the context entry in legacy mode) with its flushes, then the domain
 * id reference.
 */
export function deviceBlockTranslation(dev: DeviceDomainInfo): void {
  const domain = dev.domain;
  if (domain) cacheTagUnassignDomain(domain, dev, { pasid: IOMMU_NO_PASID });
  if (smSupported(dev.iommu)) {
    const variant = domain?.variant ?? VTD_DEFAULT_VARIANT;
    intelPasidTearDownEntry(dev, { pasid: IOMMU_NO_PASID, variant });
  } else {
    domainContextClear(dev);
  }
  if (!domain) return;
  const i = domain.devices.indexOf(dev);
  if (i >= 0) domain.devices.splice(i, 1);
  domainDetachIommu(domain, dev.iommu);
  dev.domain = null;
}

// paging_domain_compatible(), reduced to the stage the unit must support.
function pagingCompatible(domain: DmarDomain, dev: DeviceDomainInfo): Ret {
  const iommu = dev.iommu;
  if (domain.kind === "fs_paging" && (!smSupported(iommu) || !iommu.caps.flts)) {
    return { errno: "EINVAL" };
  }
  if (domain.nestedParent && !nestedSupported(iommu)) return { errno: "EINVAL" };
  return 0;
}

function setupEntry(domain: DmarDomain, dev: DeviceDomainInfo, pasid: number): Ret {
  const did = domainGetIdForDev(domain, dev);
  if (domain.kind === "nested") return intelPasidSetupNested(dev, { pasid, did });
  if (domain.kind === "ss_paging") return intelPasidSetupSecondLevel(dev, { pasid, did });
  return intelPasidSetupFirstLevel(dev, { pasid, did });
}

/**
 * Follows dmar_domain_attach_device() (paging) and intel_nested_attach_dev() (nested):
 * domain id, then for paging the entry and then the tags, for nested the tags and then
 * the entry. Any failure leaves the device blocked.
 */
function attachRid(domain: DmarDomain, dev: DeviceDomainInfo): Ret {
  const ret = domainAttachIommu(domain, dev.iommu);
  if (ret !== 0) return ret;
  dev.domain = domain;
  domain.devices.unshift(dev);
  if (domain.kind === "nested") {
    cacheTagAssignDomain(domain, dev, { pasid: IOMMU_NO_PASID });
    const r = setupEntry(domain, dev, IOMMU_NO_PASID);
    if (r !== 0) deviceBlockTranslation(dev);
    return r;
  }
  const r = smSupported(dev.iommu)
    ? setupEntry(domain, dev, IOMMU_NO_PASID)
    : domainContextMapping(domain, dev);
  if (r !== 0) {
    deviceBlockTranslation(dev);
    return r;
  }
  cacheTagAssignDomain(domain, dev, { pasid: IOMMU_NO_PASID });
  return 0;
}

/**
 * Follows iommu_attach_device() → intel_iommu_attach_device() / intel_nested_attach_dev():
 * the device is first blocked (tearing down whatever it was attached to), then attached.
 * SVA domains attach only to PASIDs; attaching the current domain again does nothing.
 */
export function iommuAttachDevice(domain: DmarDomain, dev: DeviceDomainInfo): Ret {
  if (domain.kind === "sva") return { errno: "EINVAL" };
  // The core does nothing when the group already uses this domain.
  if (dev.domain === domain) return 0;
  if (domain.kind === "nested") {
    if (!nestedSupported(dev.iommu)) return { errno: "EOPNOTSUPP" };
    if (dev.domain) deviceBlockTranslation(dev);
    const parent = domain.s2Domain;
    const r = parent ? pagingCompatible(parent, dev) : 0;
    return r !== 0 ? r : attachRid(domain, dev);
  }
  deviceBlockTranslation(dev);
  const r = pagingCompatible(domain, dev);
  return r !== 0 ? r : attachRid(domain, dev);
}

/** Follows iommu_detach_device() → blocking_domain_attach_dev(). */
export function iommuDetachDevice(dev: DeviceDomainInfo): Ret {
  deviceBlockTranslation(dev);
  return 0;
}

/**
 * Follows domain_add_dev_pasid(): domain id, then tags, then the (device, PASID) record
 * (newest first).
 */
function domainAddDevPasid(domain: DmarDomain, dev: DeviceDomainInfo, pasid: number): Ret {
  const ret = domainAttachIommu(domain, dev.iommu);
  if (ret !== 0) return ret;
  // Before the series the SVA code kept its own device list and had no tags.
  if (!(domain.kind === "sva" && variantFeatures(domain.variant).svaPerDevice)) {
    cacheTagAssignDomain(domain, dev, { pasid });
  }
  domain.devPasids.unshift({ dev, pasid });
  return 0;
}

/** Follows domain_remove_dev_pasid(): the reverse of domain_add_dev_pasid(). */
function domainRemoveDevPasid(domain: DmarDomain, dev: DeviceDomainInfo, pasid: number): void {
  const i = domain.devPasids.findIndex((p) => p.dev === dev && p.pasid === pasid);
  if (i >= 0) domain.devPasids.splice(i, 1);
  if (!(domain.kind === "sva" && variantFeatures(domain.variant).svaPerDevice)) {
    cacheTagUnassignDomain(domain, dev, { pasid });
  }
  domainDetachIommu(domain, dev.iommu);
}

/**
 * Follows iommu_attach_device_pasid() → the domain's `set_dev_pasid` (paging:
 * intel_iommu_set_dev_pasid(); SVA: intel_svm_set_dev_pasid(), which must use the
 * process PASID; nested: intel_nested_set_dev_pasid()): tags before the entry, so no
 * translation can be cached before its cache is known.
 */
export function iommuAttachDevicePasid(
  domain: DmarDomain,
  dev: DeviceDomainInfo,
  opts: { readonly pasid: number },
): Ret {
  const { pasid } = opts;
  if (pasid === IOMMU_NO_PASID || pasid >= 1 << 20) return { errno: "EINVAL" };
  if (!pasidSupported(dev.iommu) || !dev.pasidSupported) return { errno: "EOPNOTSUPP" };
  if (domain.kind === "sva" && pasid !== domain.mmPasid) return { errno: "EINVAL" };
  if (dev.pasidDomains.has(pasid)) return { errno: "EBUSY" };
  const compat = domain.kind === "nested" && domain.s2Domain
    ? pagingCompatible(domain.s2Domain, dev)
    : domain.kind === "sva"
    ? 0
    : pagingCompatible(domain, dev);
  if (compat !== 0) return compat;
  const ret = domainAddDevPasid(domain, dev, pasid);
  if (ret !== 0) return ret;
  const r = setupEntry(domain, dev, pasid);
  if (r !== 0) {
    domainRemoveDevPasid(domain, dev, pasid);
    return r;
  }
  dev.pasidDomains.set(pasid, domain);
  return 0;
}

/**
 * Follows iommu_detach_device_pasid() → blocking_domain_set_dev_pasid(): the PASID entry
 * is torn down (with its flushes) before the old domain's tags and id go.
 */
export function iommuDetachDevicePasid(
  dev: DeviceDomainInfo,
  opts: { readonly pasid: number },
): Ret {
  const old = dev.pasidDomains.get(opts.pasid);
  if (!old) return { errno: "EINVAL" };
  intelPasidTearDownEntry(dev, { pasid: opts.pasid, variant: old.variant });
  domainRemoveDevPasid(old, dev, opts.pasid);
  dev.pasidDomains.delete(opts.pasid);
  return 0;
}
