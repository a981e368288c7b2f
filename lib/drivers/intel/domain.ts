/**
 * A VT-d domain (`struct dmar_domain`): its kind, the per-unit domain ids
 * (`iommu_array`), its cache-tag list and invalidation batch, the nesting parent, and the
 * devices / PASIDs attached to it.
 * Models domain_attach_iommu(), domain_detach_iommu(), domain_id_iommu() and the domain
 * type predicates of drivers/iommu/intel/iommu.{c,h} (v6.12 … v7.1 queue).
 * @module
 */

import { type EventLog, warn } from "../../events.ts";
import { FLPT_DEFAULT_DID, IDA_START_DID, type VtdIommu } from "../../hw/vtd/iommu.ts";
import type { CacheTag } from "./cache_tag.ts";
import type { DeviceDomainInfo } from "./device.ts";
import type { QiBatch } from "./qi_batch.ts";
import { variantFeatures, VTD_DEFAULT_VARIANT, type VtdVariant } from "./variant.ts";
import type { Ret } from "../../errno.ts";

/** Domain kinds: second-stage paging, first-stage paging, nested (S1 over an S2 parent),
 *  and SVA (a process address space bound to PASIDs). */
export type DomainKind = "ss_paging" | "fs_paging" | "nested" | "sva";

/** `struct iommu_domain_info`: the domain's id on one unit. */
export interface IommuDomainInfo {
  /** The unit. */
  readonly iommu: VtdIommu;
  /** Domain id on that unit. */
  readonly did: number;
  /** Attachments on that unit sharing the id. */
  refcnt: number;
}

/** `struct dev_pasid_info`: one (device, PASID) attachment. */
export interface DevPasid {
  /** The device. */
  readonly dev: DeviceDomainInfo;
  /** The PASID. */
  readonly pasid: number;
}

/** A domain. Plain data: references to units, devices and the parent only. */
export interface DmarDomain {
  /** Name shown in messages. */
  readonly name: string;
  /** What translates through it. */
  readonly kind: DomainKind;
  /** Which upstream code the domain's flushes follow. */
  readonly variant: VtdVariant;
  /** The World's event log (traces and WARNs). */
  readonly log: EventLog;
  /** `iommu_array`: domain id per unit, by `seq_id`. */
  readonly iommuArray: Map<number, IommuDomainInfo>;
  /** `cache_tags`, in list order (which is flush order). */
  readonly cacheTags: CacheTag[];
  /** `qi_batch` (CT-2 on), allocated at the first tag assignment. */
  qiBatch: QiBatch | null;
  /** `s2_domain`: the parent of a nested domain. */
  readonly s2Domain: DmarDomain | null;
  /** Allocated with `IOMMU_HWPT_ALLOC_NEST_PARENT`. */
  readonly nestedParent: boolean;
  /** `iotlb_sync_map` (CT-3 on): map must flush (caching mode or write-buffer flushing). */
  iotlbSyncMap: boolean;
  /** `devices`: RID attachments, newest first (`list_add`). */
  readonly devices: DeviceDomainInfo[];
  /** `dev_pasids`: PASID attachments, newest first (`list_add`). */
  readonly devPasids: DevPasid[];
  /** Domain ids fixed by the caller, by unit name (else allocated like the kernel). */
  readonly fixedDids: Readonly<Record<string, number>>;
  /** SVA: the process's PASID (`mm->pasid`); 0 otherwise. */
  readonly mmPasid: number;
}

/** Options for {@link domainAlloc}. */
export interface DomainAllocOptions {
  /** Domain kind (default `ss_paging`). */
  readonly kind?: DomainKind;
  /** Code version (default CT-4). */
  readonly variant?: VtdVariant;
  /** Nested: the second-stage parent (must be a nest-parent `ss_paging` domain). */
  readonly parent?: DmarDomain;
  /** `ss_paging`: allocate as a nesting parent. */
  readonly nestParent?: boolean;
  /** SVA: the process PASID. */
  readonly pasid?: number;
  /** Fixed domain ids by unit name. */
  readonly dids?: Readonly<Record<string, number>>;
}

/**
 * A new domain with no attachments. A nested domain needs a nest-parent second-stage
 * parent and an SVA domain a PASID; a bad combination is a `TypeError` (the kernel's
 * allocators refuse them before any hardware is touched).
 */
export function domainAlloc(
  name: string,
  log: EventLog,
  opts: DomainAllocOptions = {},
): DmarDomain {
  const kind = opts.kind ?? "ss_paging";
  const parent = opts.parent ?? null;
  if (kind === "nested" && (!parent || parent.kind !== "ss_paging" || !parent.nestedParent)) {
    throw new TypeError(
      `Cannot allocate ${name}: a nested domain needs a nest-parent ss_paging parent`,
    );
  }
  if (kind !== "nested" && parent) {
    throw new TypeError(`Cannot allocate ${name}: only a nested domain has a parent`);
  }
  if (opts.nestParent && kind !== "ss_paging") {
    throw new TypeError(`Cannot allocate ${name}: only an ss_paging domain can be a nest parent`);
  }
  const mmPasid = opts.pasid ?? 0;
  if (kind === "sva" && !(mmPasid > 0 && mmPasid < 1 << 20)) {
    throw new TypeError(`Cannot allocate ${name}: an SVA domain needs a PASID in 1..0xfffff`);
  }
  return {
    name,
    kind,
    variant: opts.variant ?? VTD_DEFAULT_VARIANT,
    log,
    iommuArray: new Map(),
    cacheTags: [],
    qiBatch: null,
    s2Domain: parent,
    nestedParent: !!opts.nestParent,
    iotlbSyncMap: false,
    devices: [],
    devPasids: [],
    fixedDids: opts.dids ?? {},
    mmPasid: kind === "sva" ? mmPasid : 0,
  };
}

function allocDid(domain: DmarDomain, iommu: VtdIommu): number | undefined {
  const fixed = domain.fixedDids[iommu.name];
  if (fixed !== undefined) {
    if (fixed < IDA_START_DID || fixed >= iommu.ndoms || iommu.didsInUse.has(fixed)) return;
    return fixed;
  }
  // ida_alloc_range(IDA_START_DID, ndoms - 1): the lowest free id.
  for (let did = IDA_START_DID; did < iommu.ndoms; did++) {
    if (!iommu.didsInUse.has(did)) return did;
  }
}

/**
 * Follows domain_attach_iommu(): the first attachment on a unit takes a domain id from
 * the unit's allocator, later ones share it. SVA domains use `FLPT_DEFAULT_DID` and take
 * nothing. A paging domain on a unit in caching mode or needing write-buffer flushes
 * also asks map to flush (`iotlb_sync_map`; first-stage only for write-buffer flushing,
 * since caching mode does not apply to first-stage entries).
 */
export function domainAttachIommu(domain: DmarDomain, iommu: VtdIommu): Ret {
  if (domain.kind === "sva") return 0;
  const cur = domain.iommuArray.get(iommu.seqId);
  if (cur) {
    cur.refcnt++;
    return 0;
  }
  const did = allocDid(domain, iommu);
  if (did === undefined) {
    warn(domain.log, "domain_attach_iommu", `${iommu.name}: no free domain id for ${domain.name}`);
    return { errno: "ENOSPC" };
  }
  iommu.didsInUse.add(did);
  domain.iommuArray.set(iommu.seqId, { iommu, did, refcnt: 1 });
  if (domain.kind === "fs_paging" && iommu.caps.rwbf) domain.iotlbSyncMap = true;
  if (domain.kind === "ss_paging" && (iommu.caps.rwbf || iommu.caps.caching_mode)) {
    domain.iotlbSyncMap = true;
  }
  return 0;
}

/** Follows domain_detach_iommu(): the last attachment on a unit frees its domain id. */
export function domainDetachIommu(domain: DmarDomain, iommu: VtdIommu): void {
  if (domain.kind === "sva") return;
  const info = domain.iommuArray.get(iommu.seqId);
  if (!info) {
    warn(domain.log, "domain_detach_iommu", `${domain.name} is not attached to ${iommu.name}`);
    return;
  }
  if (--info.refcnt === 0) {
    iommu.didsInUse.delete(info.did);
    domain.iommuArray.delete(iommu.seqId);
  }
}

/** Follows domain_id_iommu(): the domain's id on `iommu` (0 with a WARN if it has none). */
export function domainIdIommu(domain: DmarDomain, iommu: VtdIommu): number {
  const info = domain.iommuArray.get(iommu.seqId);
  if (info) return info.did;
  warn(domain.log, "domain_id_iommu", `${domain.name} has no domain id on ${iommu.name}`);
  return 0;
}

/** Follows domain_get_id_for_dev(): SVA domains share `FLPT_DEFAULT_DID` on every unit. */
export function domainGetIdForDev(domain: DmarDomain, dev: DeviceDomainInfo): number {
  if (domain.kind === "sva") return FLPT_DEFAULT_DID;
  return domainIdIommu(domain, dev.iommu);
}

/** `use_first_level` (v6.10 … v6.16): first-stage paging, SVA and nested domains. */
export function domainUseFirstLevel(domain: DmarDomain): boolean {
  return domain.kind !== "ss_paging";
}

/**
 * Whether IOTLB-type tags of `domain` flush with PASID-based descriptors: by variant,
 * `use_first_level` (v6.10 … v6.16), `intel_domain_is_fs_paging()` only (the v6.17 …
 * v6.19 regression), or `intel_domain_use_piotlb()` (v7.0 on: SVA, nested and
 * first-stage paging, the same set as `use_first_level`).
 */
export function domainUsePiotlb(domain: DmarDomain): boolean {
  if (variantFeatures(domain.variant).piotlb === "fs-paging") return domain.kind === "fs_paging";
  return domainUseFirstLevel(domain);
}
