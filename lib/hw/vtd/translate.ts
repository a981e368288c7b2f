/**
 * How a VT-d unit translates one request: the context entry of its requester id (legacy
 * mode) or the PASID-table entry of its PASID (scalable mode; RID_PASID 0 for requests
 * without one), through the context or PASID cache; then the IOTLB; on a miss a walk of
 * the domain's tables that resumes from the deepest paging-structure-cache entry and fills
 * the paging-structure caches and the IOTLB on its way. Without caches the same code gives
 * the truth a stale-translation check compares cached entries with; with caches but no walk
 * it gives what a device refetching a translation right now could get from the IOTLB.
 *
 * What memory holds is read from the driver model: its endpoints' PASID tables and legacy
 * context entries (present, DID, PGTT). Those entries do not store their table pointer in
 * the model, so the pointer is the table base of the domain the RID or PASID is attached
 * to. First-stage and second-stage tables are walked; nested entries (guest tables) and
 * SVA (CPU page tables) are not: such a request reports `UNMODELLED` and caches nothing
 * below the PASID entry. Only valid translations are cached, also under caching mode
 * (which allows caching not-present entries; the model never does).
 * From Intel VT-d spec rev 5.10 §3.4-3.8 and §6.2; not a kernel function.
 * @module
 */

import type { DeviceDomainInfo } from "../../drivers/intel/device.ts";
import {
  blockSize,
  entryIova,
  IOMMU_READ,
  IOMMU_WRITE,
  type IoPgtable,
  lvlIdx,
  type PtTable,
  tableGet,
} from "../../pgtable/pgtable.ts";
import { type TlbEntry, tlbInsert, type TlbLeaf, tlbLookup } from "../tlb.ts";
import {
  type CachedPasid,
  pasidCacheKey,
  type VtdCaches,
  type VtdStage,
  type VtdTag,
  vtdTag,
} from "./caches.ts";

/** What a unit reads from memory: the driver's own objects, read live. */
export interface VtdMemory {
  /** Endpoints behind the unit by requester id (PASID tables, legacy context entries). */
  readonly devices: ReadonlyMap<number, DeviceDomainInfo>;
  /** Page tables by table base. */
  readonly pgtables: ReadonlyMap<bigint, IoPgtable>;
  /** Table base of each paging domain by name: what a PASID or context entry points at. */
  readonly roots: ReadonlyMap<string, bigint>;
}

/**
 * Why a request did not translate. The two page-table faults share the SMMU's names;
 * `FREED_TABLE` is a walk through a cached pointer to a table that was freed;
 * `UNMODELLED` covers tables the model does not walk and units it does not translate for.
 */
export const VTD_FAULTS = [
  "CONTEXT_NOT_PRESENT",
  "PASID_NOT_ALLOWED",
  "PASID_NOT_PRESENT",
  "ATS_NOT_ALLOWED",
  "F_TRANSLATION",
  "F_PERMISSION",
  "FREED_TABLE",
  "UNMODELLED",
] as const;
/** One fault. */
export type VtdFault = typeof VTD_FAULTS[number];

/** One request. */
export interface VtdRequest {
  /** Requester id. */
  readonly sid: number;
  /** PASID of the request; null without one. */
  readonly pasid: number | null;
  /** Input address. */
  readonly iova: bigint;
  /** A write (needs write permission). */
  readonly write: boolean;
  /** An ATS Translation Request: reports permissions instead of faulting on them. */
  readonly ats?: boolean;
}

/** The leaf a translation used, with the key of its IOTLB tag. */
export type VtdLeaf = TlbLeaf & { readonly ctx: string };

/** The outcome of a translation. */
export type VtdResult =
  | {
    readonly ok: true;
    readonly pa: bigint;
    readonly from: "iotlb" | "walk";
    readonly leaf: VtdLeaf;
  }
  | { readonly ok: false; readonly fault: VtdFault };

/** The entry a request resolves to: its IOTLB tag and the table base it points at. */
export type VtdContext =
  | { readonly ok: true; readonly tag: VtdTag; readonly root: bigint | null }
  | { readonly ok: false; readonly fault: VtdFault };

/** How to use the caches: none (the truth), look up and fill, or the IOTLB only. */
interface Use {
  readonly caches: VtdCaches | null;
  readonly mem: VtdMemory;
  readonly scalable: boolean;
  readonly fill: boolean;
  readonly walk: boolean;
  readonly stamp: number;
}

const fault = (f: VtdFault) => ({ ok: false, fault: f }) as const;

function rootOf(mem: VtdMemory, dev: DeviceDomainInfo, pasid: number): bigint | null {
  const domain = pasid === 0 ? dev.domain : dev.pasidDomains.get(pasid);
  return domain ? mem.roots.get(domain.name) ?? null : null;
}

/**
 * The entry `req` resolves to from memory alone: the PASID-table entry (scalable mode) or
 * the context entry (legacy mode) of its requester id.
 */
export function vtdContextMem(
  mem: VtdMemory,
  req: Pick<VtdRequest, "sid" | "pasid" | "ats">,
  opts: { readonly scalable: boolean },
): VtdContext {
  const dev = mem.devices.get(req.sid);
  if (!dev) return fault("CONTEXT_NOT_PRESENT");
  if (req.ats && !dev.atsEnabled) return fault("ATS_NOT_ALLOWED");
  if (!opts.scalable) {
    if (req.pasid !== null) return fault("PASID_NOT_ALLOWED");
    if (dev.contextDid === null) return fault("CONTEXT_NOT_PRESENT");
    const tag = vtdTag({ did: dev.contextDid, pasid: 0, stage: "ss" });
    return { ok: true, tag, root: rootOf(mem, dev, 0) };
  }
  if (req.pasid !== null && !dev.pasidSupported) return fault("PASID_NOT_ALLOWED");
  const pasid = req.pasid ?? 0;
  const pte = dev.pasidTable.get(pasid);
  if (!pte?.present) return fault("PASID_NOT_PRESENT");
  const stage: VtdStage = pte.pgtt === "sl" || pte.pgtt === "pt" ? "ss" : "fs";
  const root = pte.pgtt === "nested" ? null : rootOf(mem, dev, pasid);
  return { ok: true, tag: vtdTag({ did: pte.did, pasid, stage }), root };
}

// The entry through the context or PASID cache, filling it from memory on a miss.
function contextOf(u: Use, req: VtdRequest): VtdContext {
  const c = u.caches;
  // ATS is allowed or not by the (scalable-mode) context entry, which is not cached here.
  if (req.ats && !u.mem.devices.get(req.sid)?.atsEnabled) return fault("ATS_NOT_ALLOWED");
  if (u.scalable) {
    const key = pasidCacheKey(req.sid, req.pasid ?? 0);
    const hit = c?.pasid.get(key);
    if (hit) {
      const tag = vtdTag({ did: hit.did, pasid: hit.pasid, stage: hit.stage });
      return { ok: true, tag, root: hit.root };
    }
    const r = vtdContextMem(u.mem, req, u);
    if (r.ok && r.root !== null && c && u.fill) {
      const { did, pasid, stage } = r.tag;
      const e: CachedPasid = { sid: req.sid, pasid, did, stage, root: r.root, filled: u.stamp };
      c.pasid.set(key, e);
    }
    return r;
  }
  const hit = c?.context.get(req.sid);
  if (hit && req.pasid === null) {
    return { ok: true, tag: vtdTag({ did: hit.did, pasid: 0, stage: "ss" }), root: hit.root };
  }
  const r = vtdContextMem(u.mem, req, u);
  if (r.ok && r.root !== null && c && u.fill) {
    c.context.set(req.sid, { sid: req.sid, did: r.tag.did, root: r.root, filled: u.stamp });
  }
  return r;
}

function tableAt(pt: IoPgtable, pa: bigint): PtTable | undefined {
  for (const t of pt.tables.values()) if (t.pa === pa) return t;
  return undefined;
}

// Where the walk starts: the deepest cached table descriptor (read from the tables it was
// cached from), or the root of the entry's tables.
function walkStart(u: Use, req: VtdRequest, tag: VtdTag, root: bigint) {
  const match = (t: VtdTag) => t.key === tag.key;
  const cached: TlbEntry<VtdTag> | undefined = u.caches
    ? tlbLookup(u.caches.psc, { match, iova: req.iova })
    : undefined;
  const base = cached?.root ?? root;
  const pt = u.mem.pgtables.get(base);
  if (!pt) return undefined;
  const t = cached ? tableAt(pt, cached.out) : tableGet(pt, pt.root);
  return { pt, base, t };
}

function walk(u: Use, req: VtdRequest, tag: VtdTag, root: bigint): VtdResult {
  const start = walkStart(u, req, tag, root);
  if (!start) return fault("UNMODELLED");
  const { pt, base } = start;
  if (req.iova >> BigInt(pt.ias)) return fault("F_TRANSLATION");
  let t = start.t;
  if (!t) return fault("FREED_TABLE");
  const fill = u.caches && u.fill ? u.caches : null;
  for (;;) {
    const idx = lvlIdx(pt, req.iova, t.level);
    const pte = t.entries.get(idx);
    if (!pte) return fault("F_TRANSLATION");
    const at = { iova: entryIova(pt, t, idx), size: blockSize(pt, t.level), level: t.level };
    const desc = { tag, ...at, root: base, filled: u.stamp };
    if (pte.kind === "table") {
      const child = tableGet(pt, pte.table);
      if (fill) tlbInsert(fill.psc, { ...desc, out: child.pa, prot: 0 });
      t = child;
      continue;
    }
    if (fill) tlbInsert(fill.iotlb, { ...desc, out: pte.oa, prot: pte.prot });
    const leaf = { ...at, out: pte.oa, prot: pte.prot, root: base, ctx: tag.key };
    return { ok: true, pa: pte.oa + (req.iova - at.iova), from: "walk", leaf };
  }
}

function permitted(req: VtdRequest, r: VtdResult): VtdResult {
  if (!r.ok || req.ats) return r;
  const want = req.write ? IOMMU_WRITE : IOMMU_READ;
  return r.leaf.prot & want ? r : fault("F_PERMISSION");
}

function translate(u: Use, req: VtdRequest): VtdResult {
  const c = contextOf(u, req);
  if (!c.ok) return c;
  if (c.root === null) return fault("UNMODELLED");
  const match = (t: VtdTag) => t.key === c.tag.key;
  const hit = u.caches ? tlbLookup(u.caches.iotlb, { match, iova: req.iova }) : undefined;
  if (hit) {
    const { iova, size, level, out, prot, root } = hit;
    const leaf = { iova, size, level, out, prot, root, ctx: hit.tag.key };
    return permitted(req, { ok: true, pa: out + (req.iova - iova), from: "iotlb", leaf });
  }
  if (!u.walk) return fault("F_TRANSLATION");
  return permitted(req, walk(u, req, c.tag, c.root));
}

/** The unit-side inputs of a translation. */
export interface VtdTranslateOptions {
  /** What memory holds. */
  readonly mem: VtdMemory;
  /** Scalable mode (PASID tables) or legacy mode (context entries). */
  readonly scalable: boolean;
}

/** Translates through `caches`, filling them (a DMA, or an ATS Translation Request). */
export function vtdTranslate(
  caches: VtdCaches,
  req: VtdRequest,
  opts: VtdTranslateOptions & { readonly stamp: number },
): VtdResult {
  return translate({ caches, ...opts, fill: true, walk: true }, req);
}

/** Translates from memory alone: what a cached translation must agree with. */
export function vtdTranslateMem(req: VtdRequest, opts: VtdTranslateOptions): VtdResult {
  return translate({ caches: null, ...opts, fill: false, walk: true, stamp: 0 }, req);
}

/**
 * What a request could get from the caches right now without walking: the leaf an ATS
 * refetch would be answered with from the IOTLB. Fills nothing.
 */
export function vtdTranslateCached(
  caches: VtdCaches,
  req: VtdRequest,
  opts: VtdTranslateOptions,
): VtdResult {
  return translate({ caches, ...opts, fill: false, walk: false, stamp: 0 }, req);
}
