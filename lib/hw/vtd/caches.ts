/**
 * The translation caches of one VT-d remapping unit, as plain data: the context cache
 * (legacy-mode context entries by requester id), the PASID cache (scalable-mode PASID-table
 * entries by requester id and PASID), the IOTLB (leaf translations) and the paging-structure
 * caches (table descriptors met on the way down).
 *
 * IOTLB and paging-structure entries are tagged with the domain id of the entry that led to
 * them, the PASID of the request (RID_PASID, 0, for requests without one; 0 in legacy mode)
 * and the kind of mapping: second-stage (PGTT second-stage or pass-through, and every legacy
 * entry) or first-stage (PGTT first-stage or nested). The invalidation descriptors select on
 * those tags (Intel VT-d spec rev 5.10, §6.2.1 and Tables 23-24).
 *
 * Not a kernel structure: what the descriptors of the driver act on.
 * @module
 */

import { type StaleMark, type Tlb, tlbCreate, type TlbTag } from "../tlb.ts";

/** Second-stage (and legacy, and pass-through) or first-stage (and nested) mappings. */
export type VtdStage = "ss" | "fs";

/** The tag of an IOTLB or paging-structure-cache entry. */
export interface VtdTag extends TlbTag {
  /** Domain id of the context or PASID-table entry used. */
  readonly did: number;
  /** PASID of the request; RID_PASID (0) without one. */
  readonly pasid: number;
  /** Which kind of mapping. */
  readonly stage: VtdStage;
}

/** A cached legacy-mode context entry. */
export interface CachedContext {
  /** Requester id. */
  readonly sid: number;
  /** Domain id in the entry. */
  readonly did: number;
  /** The second-stage table it points at. */
  readonly root: bigint;
  /** Stamp of the fill. */
  readonly filled: number;
  /** The stale check's mark. */
  stale?: StaleMark;
}

/** A cached scalable-mode PASID-table entry (only present entries are cached). */
export interface CachedPasid {
  /** Requester id. */
  readonly sid: number;
  /** PASID (RID_PASID, 0, for requests without one). */
  readonly pasid: number;
  /** Domain id in the entry. */
  readonly did: number;
  /** PGTT: which tables the entry translates with. */
  readonly stage: VtdStage;
  /** The table it points at. */
  readonly root: bigint;
  /** Stamp of the fill. */
  readonly filled: number;
  /** The stale check's mark. */
  stale?: StaleMark;
}

/** Every translation cache of one unit. */
export interface VtdCaches {
  /** Context cache (legacy mode), by requester id. */
  readonly context: Map<number, CachedContext>;
  /** PASID cache (scalable mode), by {@link pasidCacheKey}. */
  readonly pasid: Map<string, CachedPasid>;
  /** Leaf translations. */
  readonly iotlb: Tlb<VtdTag>;
  /** Paging-structure caches: table descriptors. */
  readonly psc: Tlb<VtdTag>;
}

/** A tag, with its key. */
export function vtdTag(t: Omit<VtdTag, "key">): VtdTag {
  return { key: `${t.stage}/${t.did}/${t.pasid}`, ...t };
}

/** Key of a PASID-cache entry. */
export function pasidCacheKey(sid: number, pasid: number): string {
  return `${sid}:${pasid}`;
}

/** Empty caches. */
export function vtdCachesCreate(): VtdCaches {
  return { context: new Map(), pasid: new Map(), iotlb: tlbCreate(), psc: tlbCreate() };
}

/** Whether nothing is cached (descriptors then have nothing to act on). */
export function vtdCachesEmpty(c: VtdCaches): boolean {
  return c.context.size === 0 && c.pasid.size === 0 && c.iotlb.entries.length === 0 &&
    c.psc.entries.length === 0;
}
