/**
 * Cache tags: per domain, the list of caches that may hold its translations (an IOTLB per
 * unit and domain id, a device-TLB per ATS endpoint, and on a nesting parent the caches
 * filled through its nested children), kept so that a mapping change is invalidated
 * once per cache; and the domain-level flushes that walk that list.
 * Models drivers/iommu/intel/cache.c ("Consolidate domain cache invalidation", v6.10, and
 * its later forms up to the v7.1 queue; see variant.ts) and its trace events (trace.h).
 * @module
 */

import { U64_MAX } from "../../bits.ts";
import { type EventLog, trace, type TraceValue } from "../../events.ts";
import type { VtdIommu } from "../../hw/vtd/iommu.ts";
import {
  cacheTagFlushDevtlbAll,
  cacheTagFlushDevtlbPsi,
  cacheTagFlushIotlb,
} from "./cache_tag_flush.ts";
import type { DeviceDomainInfo } from "./device.ts";
import { type DmarDomain, domainGetIdForDev, domainUseFirstLevel } from "./domain.ts";
import { calculatePsiAlignedAddress, MAX_AGAW_PFN_WIDTH } from "./psi_aligned_address.ts";
import { qiBatchAlloc, qiBatchFlushDescs } from "./qi_batch.ts";
import { iommuFlushWriteBuffer } from "./qi_flush.ts";
import { variantFeatures } from "./variant.ts";

/** `enum cache_tag_type`, in declaration order. */
export const CACHE_TAG_TYPES = ["IOTLB", "DEVTLB", "NESTING_IOTLB", "NESTING_DEVTLB"] as const;
/** One tag type. */
export type CacheTagType = typeof CACHE_TAG_TYPES[number];

/** `struct cache_tag`. */
export interface CacheTag {
  /** Which cache. */
  readonly type: CacheTagType;
  /** The unit whose queue receives the tag's invalidations. */
  readonly iommu: VtdIommu;
  /** Where the cache is: the endpoint for device-TLB tags, null (the unit) for IOTLB tags. */
  readonly dev: DeviceDomainInfo | null;
  /** Domain id placed in the descriptors. */
  readonly domainId: number;
  /** PASID of the attachment (0 for RID attachments). */
  readonly pasid: number;
  /** Attachments sharing this cache. */
  users: number;
}

/** What identifies a tag on assignment. */
export interface CacheTagKey {
  /** Domain id. */
  readonly did: number;
  /** The attaching device (its unit is the tag's unit). */
  readonly dev: DeviceDomainInfo;
  /** PASID. */
  readonly pasid: number;
  /** Tag type. */
  readonly type: CacheTagType;
}

const TRACE_TYPE: Readonly<Record<CacheTagType, string>> = {
  IOTLB: "iotlb",
  DEVTLB: "devtlb",
  NESTING_IOTLB: "nesting_iotlb",
  NESTING_DEVTLB: "nesting_devtlb",
};

function isDevtlb(type: CacheTagType): boolean {
  return type === "DEVTLB" || type === "NESTING_DEVTLB";
}

function tagFields(tag: CacheTag): Record<string, TraceValue> {
  return {
    iommu: tag.iommu.name,
    dev: tag.dev ? tag.dev.name : tag.iommu.name,
    type: TRACE_TYPE[tag.type],
    domain_id: tag.domainId,
    pasid: tag.pasid,
  };
}

function traceTag(log: EventLog, name: string, tag: CacheTag): void {
  trace(log, name, { ...tagFields(tag), users: tag.users });
}

// Follows cache_tage_match() (sic): an IOTLB lives in the unit, so any device behind the
// same unit with the same (DID, PASID) names the same cache; a device-TLB is per device.
function cacheTagMatch(tag: CacheTag, k: CacheTagKey): boolean {
  if (tag.type !== k.type || tag.domainId !== k.did || tag.pasid !== k.pasid) return false;
  return isDevtlb(k.type) ? tag.dev === k.dev : tag.iommu === k.dev.iommu;
}

/**
 * Follows cache_tag_assign(): a matching tag gains a user; otherwise a new tag is
 * inserted, at the tail (v6.10) or right after the last tag of the same unit, at the head
 * when the unit has none (v6.12 on), so that one unit's descriptors are adjacent and
 * batch together. Traces `cache_tag_assign` either way.
 */
export function cacheTagAssign(domain: DmarDomain, k: CacheTagKey): number {
  const list = domain.cacheTags;
  const iommu = k.dev.iommu;
  let prev = -1;
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (cacheTagMatch(t, k)) {
      t.users++;
      traceTag(domain.log, "cache_tag_assign", t);
      return 0;
    }
    if (t.iommu === iommu) prev = i;
  }
  const tag: CacheTag = {
    type: k.type,
    iommu,
    dev: isDevtlb(k.type) ? k.dev : null,
    domainId: k.did,
    pasid: k.pasid,
    users: 1,
  };
  if (variantFeatures(domain.variant).groupedInsert) list.splice(prev + 1, 0, tag);
  else list.push(tag);
  traceTag(domain.log, "cache_tag_assign", tag);
  return 0;
}

/**
 * Follows cache_tag_unassign(): the first matching tag loses a user (traced before the
 * decrement) and leaves the list at zero; no match is silently ignored.
 */
export function cacheTagUnassign(domain: DmarDomain, k: CacheTagKey): void {
  const list = domain.cacheTags;
  const i = list.findIndex((t) => cacheTagMatch(t, k));
  if (i < 0) return;
  const tag = list[i];
  traceTag(domain.log, "cache_tag_unassign", tag);
  if (--tag.users === 0) list.splice(i, 1);
}

// __cache_tag_assign_domain() / __cache_tag_assign_parent_domain(): the batch first
// (v6.12 on), then the IOTLB tag, then the device-TLB tag if ATS is on.
function assignPair(domain: DmarDomain, k: Omit<CacheTagKey, "type">, nesting: boolean): void {
  if (variantFeatures(domain.variant).batched) domain.qiBatch ??= qiBatchAlloc();
  cacheTagAssign(domain, { ...k, type: nesting ? "NESTING_IOTLB" : "IOTLB" });
  if (!k.dev.atsEnabled) return;
  cacheTagAssign(domain, { ...k, type: nesting ? "NESTING_DEVTLB" : "DEVTLB" });
}

function unassignPair(domain: DmarDomain, k: Omit<CacheTagKey, "type">, nesting: boolean): void {
  cacheTagUnassign(domain, { ...k, type: nesting ? "NESTING_IOTLB" : "IOTLB" });
  if (k.dev.atsEnabled) {
    cacheTagUnassign(domain, { ...k, type: nesting ? "NESTING_DEVTLB" : "DEVTLB" });
  }
}

/**
 * Follows cache_tag_assign_domain(): tags for attaching `dev` (at `pasid`) to `domain`,
 * with the domain id the domain has on the device's unit (`FLPT_DEFAULT_DID` for SVA).
 * A nested domain also tags its second-stage parent, with the nested domain's id:
 * changing the parent changes what the nested translations produced.
 */
export function cacheTagAssignDomain(
  domain: DmarDomain,
  dev: DeviceDomainInfo,
  opts: { readonly pasid: number },
): number {
  const k = { did: domainGetIdForDev(domain, dev), dev, pasid: opts.pasid };
  assignPair(domain, k, false);
  if (domain.kind === "nested" && domain.s2Domain) assignPair(domain.s2Domain, k, true);
  return 0;
}

/**
 * Follows cache_tag_unassign_domain(): the reverse of {@link cacheTagAssignDomain}. ATS
 * is read again here, so a device whose ATS state changed in between leaks or misses its
 * device-TLB tag, as in the kernel.
 */
export function cacheTagUnassignDomain(
  domain: DmarDomain,
  dev: DeviceDomainInfo,
  opts: { readonly pasid: number },
): void {
  const k = { did: domainGetIdForDev(domain, dev), dev, pasid: opts.pasid };
  unassignPair(domain, k, false);
  if (domain.kind === "nested" && domain.s2Domain) unassignPair(domain.s2Domain, k, true);
}

function traceFlush(
  domain: DmarDomain,
  name: string,
  tag: CacheTag,
  r: { start: bigint; end: bigint; addr: bigint; pages: bigint; mask: number },
): void {
  const data: Record<string, TraceValue> = { ...tagFields(tag), start: r.start, end: r.end };
  data.addr = r.addr;
  if (variantFeatures(domain.variant).tracePages) data.pages = r.pages;
  data.mask = r.mask;
  trace(domain.log, name, data);
}

/** Arguments of {@link cacheTagFlushRange}. */
export interface FlushRangeOptions {
  /** First byte. */
  readonly start: bigint;
  /** Last byte (inclusive). */
  readonly end: bigint;
  /** Invalidation hint: 1 when only leaf entries changed (paging-structure caches stay). */
  readonly ih: 0 | 1;
}

/**
 * Follows cache_tag_flush_range(): invalidates `[start, end]` in every cache of the
 * domain, as one PSI block (see {@link calculatePsiAlignedAddress}), batching per unit.
 *
 * A nesting device-TLB cannot be flushed by address (it holds results of the nested
 * translation, whose addresses an S2 change does not give), so it is flushed whole, and,
 * as in the kernel, the whole-space address/mask it sets stay for every later tag of
 * the same walk.
 */
export function cacheTagFlushRange(domain: DmarDomain, opts: FlushRangeOptions): void {
  const f = variantFeatures(domain.variant);
  const { start, end, ih } = opts;
  let { addr, mask, pages } = f.flushAllViaRange && start === 0n && end === U64_MAX
    ? { addr: 0n, mask: MAX_AGAW_PFN_WIDTH, pages: U64_MAX }
    : calculatePsiAlignedAddress(start, end);
  const batch = f.batched ? domain.qiBatch : null;
  let iommu: VtdIommu | null = null;
  for (const tag of domain.cacheTags) {
    if (iommu && iommu !== tag.iommu) qiBatchFlushDescs(iommu, batch);
    iommu = tag.iommu;
    switch (tag.type) {
      case "IOTLB":
      case "NESTING_IOTLB":
        cacheTagFlushIotlb(domain, tag, { addr, pages, mask, ih });
        break;
      case "NESTING_DEVTLB":
        addr = 0n;
        mask = MAX_AGAW_PFN_WIDTH;
      // falls through
      case "DEVTLB":
        cacheTagFlushDevtlbPsi(domain, tag, { addr, mask });
        break;
    }
    traceFlush(domain, "cache_tag_flush_range", tag, { start, end, addr, pages, mask });
  }
  qiBatchFlushDescs(iommu, batch);
}

/**
 * Follows cache_tag_flush_all(): everything the domain may have cached. From v6.17 this
 * is {@link cacheTagFlushRange} over the whole space; before, its own walk flushed IOTLB
 * tags domain- or PASID-wide and every device-TLB with the non-PASID descriptor (even for
 * PASID tags: the bug v6.17 fixed), tracing `cache_tag_flush_all` per tag.
 */
export function cacheTagFlushAll(domain: DmarDomain): void {
  const f = variantFeatures(domain.variant);
  if (f.flushAllViaRange) return cacheTagFlushRange(domain, { start: 0n, end: U64_MAX, ih: 0 });
  const batch = f.batched ? domain.qiBatch : null;
  let iommu: VtdIommu | null = null;
  for (const tag of domain.cacheTags) {
    if (iommu && iommu !== tag.iommu) qiBatchFlushDescs(iommu, batch);
    iommu = tag.iommu;
    if (isDevtlb(tag.type)) cacheTagFlushDevtlbAll(domain, tag);
    else cacheTagFlushIotlb(domain, tag, { addr: 0n, pages: U64_MAX, mask: 0, ih: 0 });
    traceTag(domain.log, "cache_tag_flush_all", tag);
  }
  qiBatchFlushDescs(iommu, batch);
}

/**
 * Follows cache_tag_flush_range_np(): after new mappings. Only a unit in caching mode can
 * have cached the old non-present entries of a second-stage table, so only its IOTLB tags
 * are flushed (and traced); every other tag just gets the write-buffer flush its unit may
 * need. First-stage tables are exempt from caching mode.
 */
export function cacheTagFlushRangeNp(
  domain: DmarDomain,
  opts: { readonly start: bigint; readonly end: bigint },
): void {
  const f = variantFeatures(domain.variant);
  const { start, end } = opts;
  const { addr, mask, pages } = calculatePsiAlignedAddress(start, end);
  const firstLevel = f.piotlb === "first-level"
    ? domainUseFirstLevel(domain)
    : domain.kind === "fs_paging";
  const batch = f.batched ? domain.qiBatch : null;
  let iommu: VtdIommu | null = null;
  for (const tag of domain.cacheTags) {
    if (iommu && iommu !== tag.iommu) qiBatchFlushDescs(iommu, batch);
    iommu = tag.iommu;
    if (!iommu.caps.caching_mode || firstLevel) {
      iommuFlushWriteBuffer(iommu);
      continue;
    }
    if (tag.type === "IOTLB" || tag.type === "NESTING_IOTLB") {
      cacheTagFlushIotlb(domain, tag, { addr, pages, mask, ih: 0 });
    }
    traceFlush(domain, "cache_tag_flush_range_np", tag, { start, end, addr, pages, mask });
  }
  qiBatchFlushDescs(iommu, batch);
}
