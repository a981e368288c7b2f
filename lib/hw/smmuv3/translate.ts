/**
 * How an SMMUv3 translates one transaction: the STE of its StreamID (abort, bypass, stage 1
 * through a CD, stage 2), the CD of its SubstreamID (or the S1DSS rule without one), then the
 * IOTLB, and on a miss a table walk that resumes from the deepest walk-cache entry and fills
 * the walk cache and the IOTLB on its way. The same code, without caches, gives the "truth"
 * a stale-translation check compares cached entries with; with caches but no walk, it gives
 * what a device refetching a translation right now could get from the IOTLB.
 *
 * STE and CD fields are the architecture's (Arm IHI 0070 ch.5), read with the decoders of
 * the driver model (lib/drivers/arm-smmu-v3 ste.ts, cd.ts) plus STRW and S1CDMAX. Stage-1
 * nested (guest CD tables in IPA space) and SVA (CPU page tables) are not walked: such a
 * transaction reports `UNMODELLED` and caches nothing below the CD.
 * @module
 */

import { fieldGet } from "../../bits.ts";
import { cdDecode } from "../../drivers/arm-smmu-v3/cd.ts";
import {
  steDecode,
  STRTAB_STE_1_EATS_TRANS,
  STRTAB_STE_1_S1DSS_BYPASS,
  STRTAB_STE_1_S1DSS_SSID0,
} from "../../drivers/arm-smmu-v3/ste.ts";
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
import { tlbInsert, type TlbLeaf, tlbLookup } from "../tlb.ts";
import { cdKey, type SmmuCaches, type SmmuTag, smmuTag } from "./caches.ts";

/** A CD table as memory holds it: its address and its CDs by SubstreamID (absent = zero). */
export interface CdTableMem {
  /** Address the STE's S1ContextPtr holds. */
  readonly cdtabDma: bigint;
  /** CDs by SubstreamID. */
  readonly cds: ReadonlyMap<number, readonly bigint[]>;
}

/**
 * What the SMMU reads from memory. The stream table and the CD tables are the driver
 * model's own objects (read live); `pgtables` maps table bases to page tables and is kept up
 * to date by whoever owns the World.
 */
export interface SmmuMemory {
  /** STEs by StreamID. */
  readonly strtab: ReadonlyMap<number, readonly bigint[]>;
  /** Every CD table. */
  readonly cdTables: readonly CdTableMem[];
  /** Page tables by the base an STE (S2TTB) or CD (TTB0) holds. */
  readonly pgtables: Map<bigint, IoPgtable>;
}

/**
 * Why a transaction did not translate: SMMU event names where the architecture has one;
 * `STE_ABORT` for an abort STE (no event), `ATS_NOT_ALLOWED` for a Translation Request the
 * STE's EATS refuses, `UNMODELLED` for tables the model does not walk.
 */
export const SMMU_FAULTS = [
  "C_BAD_STE",
  "STE_ABORT",
  "F_STREAM_DISABLED",
  "C_BAD_SUBSTREAMID",
  "C_BAD_CD",
  "F_TRANSLATION",
  "F_PERMISSION",
  "F_WALK_EABT",
  "ATS_NOT_ALLOWED",
  "UNMODELLED",
] as const;
/** One fault. */
export type SmmuFault = typeof SMMU_FAULTS[number];

/** One transaction. */
export interface TranslateRequest {
  /** StreamID. */
  readonly sid: number;
  /** SubstreamID (PASID); null without one. */
  readonly ssid: number | null;
  /** Input address. */
  readonly iova: bigint;
  /** A write (needs write permission). */
  readonly write: boolean;
  /** An ATS Translation Request: needs STE.EATS = TRANS, reports permissions, never faults on them. */
  readonly ats?: boolean;
}

/**
 * The leaf a translation used, as a cache or an ATS completion records it (a bypass is a 4K
 * page at level 3 from table base 0), with the key of its TLB context (`bypass` for a bypass).
 */
export type SmmuLeaf = TlbLeaf & { readonly ctx: string };

/** The outcome of a translation. */
export type TranslateResult =
  | {
    readonly ok: true;
    /** Output address. */
    readonly pa: bigint;
    /** Where it came from. */
    readonly from: "iotlb" | "walk" | "bypass";
    /** The leaf. */
    readonly leaf: SmmuLeaf;
  }
  | { readonly ok: false; readonly fault: SmmuFault };

/** How to use the caches: none (the truth), look up and fill, or look up the IOTLB only. */
interface Use {
  readonly caches: SmmuCaches | null;
  readonly mem: SmmuMemory;
  readonly fill: boolean;
  readonly walk: boolean;
  readonly stamp: number;
}

const ZERO_CD: readonly bigint[] = Object.freeze(new Array<bigint>(8).fill(0n));
const STRW_EL2 = 2;

type Context =
  | { readonly kind: "fault"; readonly fault: SmmuFault }
  | { readonly kind: "bypass" }
  | { readonly kind: "tables"; readonly tag: SmmuTag; readonly root: bigint };

const fault = (f: SmmuFault): Context => ({ kind: "fault", fault: f });

function steOf(u: Use, sid: number): readonly bigint[] | undefined {
  const hit = u.caches?.ste.get(sid);
  if (hit) return hit.ste;
  const ste = u.mem.strtab.get(sid);
  // An invalid STE is not cached: the SMMU reports C_BAD_STE and keeps nothing.
  if (ste && (ste[0] & 1n) && u.caches && u.fill) {
    u.caches.ste.set(sid, { sid, ste: [...ste], filled: u.stamp });
  }
  return ste;
}

function cdOf(u: Use, at: { sid: number; ssid: number; table: bigint }): readonly bigint[] {
  const key = cdKey(at.sid, at.ssid);
  const hit = u.caches?.cd.get(key);
  if (hit) return hit.cd;
  const cd = u.mem.cdTables.find((t) => t.cdtabDma === at.table)?.cds.get(at.ssid) ?? ZERO_CD;
  if (cdDecode(cd).valid && u.caches && u.fill) {
    u.caches.cd.set(key, {
      sid: at.sid,
      ssid: at.ssid,
      cd: [...cd],
      table: at.table,
      filled: u.stamp,
    });
  }
  return cd;
}

// A stage-1 STE: pick the CD (S1DSS decides for transactions without a SubstreamID).
function s1Context(u: Use, req: TranslateRequest, ste: readonly bigint[]): Context {
  const info = steDecode(ste);
  let ssid = req.ssid;
  if (ssid === null) {
    if (info.s1dss === STRTAB_STE_1_S1DSS_BYPASS) return { kind: "bypass" };
    if (info.s1dss !== STRTAB_STE_1_S1DSS_SSID0) return fault("F_STREAM_DISABLED");
    ssid = 0;
  } else if (ssid >= 2 ** Number(fieldGet(ste[0], 63, 59)) || ssid === 0) {
    return fault("C_BAD_SUBSTREAMID");
  }
  const cd = cdDecode(cdOf(u, { sid: req.sid, ssid, table: info.s1ctxptr }));
  if (!cd.valid) return fault("C_BAD_CD");
  if (cd.epd0) return fault("F_TRANSLATION");
  const el2 = Number(fieldGet(ste[1], 31, 30)) === STRW_EL2;
  const tag = smmuTag({
    regime: el2 ? "el2" : "el1",
    stage: "s1",
    vmid: el2 ? 0 : info.vmid,
    asid: cd.asid,
  });
  return { kind: "tables", tag, root: cd.ttb0 };
}

/** The translation context of a transaction: which tables, under which TLB tag. */
function contextOf(u: Use, req: TranslateRequest): Context {
  const ste = steOf(u, req.sid);
  if (!ste) return fault("C_BAD_STE");
  const info = steDecode(ste);
  if (req.ats && info.eats !== STRTAB_STE_1_EATS_TRANS) return fault("ATS_NOT_ALLOWED");
  switch (info.config) {
    case "abort":
      return fault("STE_ABORT");
    case "bypass":
      return req.ssid === null ? { kind: "bypass" } : fault("C_BAD_SUBSTREAMID");
    case "s1":
      return s1Context(u, req, ste);
    case "s2": {
      if (req.ssid !== null) return fault("C_BAD_SUBSTREAMID");
      const tag = smmuTag({ regime: "el1", stage: "s2", vmid: info.vmid, asid: 0 });
      return { kind: "tables", tag, root: info.s2ttb };
    }
    case "nested":
      return fault("UNMODELLED");
    default:
      return fault("C_BAD_STE");
  }
}

function tableAt(pt: IoPgtable, pa: bigint): PtTable | undefined {
  for (const t of pt.tables.values()) if (t.pa === pa) return t;
  return undefined;
}

// The walk: from the deepest cached table descriptor (or the root), filling as it goes.
function walk(u: Use, req: TranslateRequest, ctx: { tag: SmmuTag; root: bigint }): TranslateResult {
  const pt = u.mem.pgtables.get(ctx.root);
  if (!pt) return { ok: false, fault: "UNMODELLED" };
  if (req.iova >> BigInt(pt.ias)) return { ok: false, fault: "F_TRANSLATION" };
  const match = (t: SmmuTag) => t.key === ctx.tag.key;
  const cached = u.caches ? tlbLookup(u.caches.walk, { match, iova: req.iova }) : undefined;
  let t = cached ? tableAt(pt, cached.out) : tableGet(pt, pt.root);
  if (!t) return { ok: false, fault: "F_WALK_EABT" };
  const base = { tag: ctx.tag, root: ctx.root, filled: u.stamp };
  for (;;) {
    const idx = lvlIdx(pt, req.iova, t.level);
    const pte = t.entries.get(idx);
    const at = { iova: entryIova(pt, t, idx), size: blockSize(pt, t.level), level: t.level };
    if (!pte) return { ok: false, fault: "F_TRANSLATION" };
    if (pte.kind === "table") {
      const child = tableGet(pt, pte.table);
      if (u.caches && u.fill) tlbInsert(u.caches.walk, { ...base, ...at, out: child.pa, prot: 0 });
      t = child;
      continue;
    }
    const leaf = { ...at, out: pte.oa, prot: pte.prot, root: ctx.root, ctx: ctx.tag.key };
    if (u.caches && u.fill) {
      tlbInsert(u.caches.iotlb, { ...base, ...at, out: pte.oa, prot: pte.prot });
    }
    return { ok: true, pa: pte.oa + (req.iova - at.iova), from: "walk", leaf };
  }
}

function permitted(req: TranslateRequest, r: TranslateResult): TranslateResult {
  if (!r.ok || req.ats) return r;
  const want = req.write ? IOMMU_WRITE : IOMMU_READ;
  return r.leaf.prot & want ? r : { ok: false, fault: "F_PERMISSION" };
}

function translate(u: Use, req: TranslateRequest): TranslateResult {
  const c = contextOf(u, req);
  if (c.kind === "fault") return { ok: false, fault: c.fault };
  if (c.kind === "bypass") {
    const page = req.iova & ~0xfffn;
    const prot = IOMMU_READ | IOMMU_WRITE;
    const leaf = { iova: page, size: 0x1000n, level: 3, out: page, prot, root: 0n, ctx: "bypass" };
    return { ok: true, pa: req.iova, from: "bypass", leaf };
  }
  const hit = u.caches
    ? tlbLookup(u.caches.iotlb, { match: (t) => t.key === c.tag.key, iova: req.iova })
    : undefined;
  if (hit) {
    const leaf = {
      iova: hit.iova,
      size: hit.size,
      level: hit.level,
      out: hit.out,
      prot: hit.prot,
      root: hit.root,
      ctx: hit.tag.key,
    };
    return permitted(req, { ok: true, pa: hit.out + (req.iova - hit.iova), from: "iotlb", leaf });
  }
  if (!u.walk) return { ok: false, fault: "F_TRANSLATION" };
  return permitted(req, walk(u, req, c));
}

/** Translates through `caches`, filling them (a DMA, or an ATS Translation Request). */
export function smmuTranslate(
  caches: SmmuCaches,
  req: TranslateRequest,
  opts: { readonly mem: SmmuMemory; readonly stamp: number },
): TranslateResult {
  return translate({ caches, ...opts, fill: true, walk: true }, req);
}

/** Translates from memory alone: what a cached translation must agree with. */
export function smmuTranslateMem(mem: SmmuMemory, req: TranslateRequest): TranslateResult {
  return translate({ caches: null, mem, fill: false, walk: true, stamp: 0 }, req);
}

/**
 * What a translation could get from the caches right now without walking: the leaf an
 * ATS refetch would be answered with from the IOTLB. Fills nothing.
 */
export function smmuTranslateCached(
  caches: SmmuCaches,
  req: TranslateRequest,
  opts: { readonly mem: SmmuMemory },
): TranslateResult {
  return translate({ caches, mem: opts.mem, fill: false, walk: false, stamp: 0 }, req);
}
