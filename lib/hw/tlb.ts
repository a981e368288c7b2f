/**
 * A translation cache as plain data, shared by every hardware model: an SMMU's IOTLB and walk
 * cache, a PCIe device's ATC, and (later) a VT-d IOTLB or device TLB. Each entry is tagged
 * with its owner's context (ASID and VMID, PASID, domain id, ...), covers one aligned input
 * range at one level of the tables, and holds either a leaf translation or the address of a
 * next-level table (a walk-cache entry). Lookup and invalidation take the tag test at call
 * time, so all models share the range and level rules and only define their tags.
 *
 * Not a kernel structure: the hardware side the invalidation commands act on.
 * @module
 */

/** What a tag must provide: a key that is equal exactly when two tags are the same context. */
export interface TlbTag {
  /** Equal keys mean the same context (used to replace an entry on refill). */
  readonly key: string;
}

/** Set by the stale-translation check on an entry that disagrees with the tables. */
export interface StaleMark {
  /** Index of the step after which the entry was first found stale. */
  readonly since: number;
  /** Whether a failure has been reported for it (each stale entry is reported once). */
  reported: boolean;
}

/** One cached descriptor. */
export interface TlbEntry<T extends TlbTag> {
  /** The context the entry belongs to. */
  readonly tag: T;
  /** First input address covered. */
  readonly iova: bigint;
  /** Bytes covered. */
  readonly size: bigint;
  /** Level of the descriptor (io-pgtable-arm numbering: 3 = the page level with 4K). */
  readonly level: number;
  /** Leaf: output address of `iova`. Table descriptor: address of the next-level table. */
  readonly out: bigint;
  /** `IOMMU_READ` / `IOMMU_WRITE` bits of a leaf (0 for a table descriptor). */
  readonly prot: number;
  /** Base of the tables the descriptor was read from (TTB0, S2TTB), or 0 when none. */
  readonly root: bigint;
  /** Stamp (the step index) of the fill. */
  readonly filled: number;
  /** How the entry got there when not by a plain fill, for messages. */
  readonly note?: string;
  /** The stale check's mark. */
  stale?: StaleMark;
}

/** What a translation hands on to be cached: a descriptor without its tag and marks. */
export type TlbLeaf = Pick<TlbEntry<TlbTag>, "iova" | "size" | "level" | "out" | "prot" | "root">;

/** A cache: its entries, in fill order. */
export interface Tlb<T extends TlbTag> {
  readonly entries: TlbEntry<T>[];
}

/** Which entries an invalidation (or a query) selects. */
export interface TlbSelect<T extends TlbTag> {
  /** The tag test. */
  match(tag: T): boolean;
  /** First input address; absent = every address. */
  readonly start?: bigint;
  /** One past the last input address (with `start`). */
  readonly end?: bigint;
  /** Only entries of this level (a TTL hint); absent or 0 = every level. */
  readonly level?: number;
}

/** An empty cache. */
export function tlbCreate<T extends TlbTag>(): Tlb<T> {
  return { entries: [] };
}

/** Whether `e` covers some address of `[start, end)`. */
export function tlbOverlaps<T extends TlbTag>(e: TlbEntry<T>, start: bigint, end: bigint): boolean {
  return e.iova < end && start < e.iova + e.size;
}

function selects<T extends TlbTag>(e: TlbEntry<T>, sel: TlbSelect<T>): boolean {
  if (sel.level && e.level !== sel.level) return false;
  if (sel.start !== undefined && sel.end !== undefined && !tlbOverlaps(e, sel.start, sel.end)) {
    return false;
  }
  return sel.match(e.tag);
}

/**
 * Adds an entry. A refill replaces the entry of the same context, level and range (a cache
 * holds one copy of a descriptor).
 */
export function tlbInsert<T extends TlbTag>(tlb: Tlb<T>, e: TlbEntry<T>): void {
  const i = tlb.entries.findIndex((x) =>
    x.tag.key === e.tag.key && x.level === e.level && tlbOverlaps(x, e.iova, e.iova + e.size)
  );
  if (i >= 0) tlb.entries.splice(i, 1);
  tlb.entries.push(e);
}

/**
 * The entry of a context that covers `iova`; with several (walk caches hold one per level),
 * the deepest, since a walk resumes from the lowest cached level.
 */
export function tlbLookup<T extends TlbTag>(
  tlb: Tlb<T>,
  opts: { readonly match: (tag: T) => boolean; readonly iova: bigint },
): TlbEntry<T> | undefined {
  let best: TlbEntry<T> | undefined;
  for (const e of tlb.entries) {
    if (opts.iova < e.iova || opts.iova >= e.iova + e.size || !opts.match(e.tag)) continue;
    if (!best || e.level > best.level) best = e;
  }
  return best;
}

/** The entries `sel` selects, left in place. */
export function tlbFind<T extends TlbTag>(tlb: Tlb<T>, sel: TlbSelect<T>): TlbEntry<T>[] {
  return tlb.entries.filter((e) => selects(e, sel));
}

/** Removes the entries `sel` selects; returns them. */
export function tlbInvalidate<T extends TlbTag>(tlb: Tlb<T>, sel: TlbSelect<T>): TlbEntry<T>[] {
  if (tlb.entries.length === 0) return [];
  const removed: TlbEntry<T>[] = [];
  let w = 0;
  for (const e of tlb.entries) {
    if (selects(e, sel)) removed.push(e);
    else tlb.entries[w++] = e;
  }
  tlb.entries.length = w;
  return removed;
}
