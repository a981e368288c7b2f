/**
 * One domain's I/O page table as plain data: radix tables keyed by entry index, each table
 * with a stable id (never reused) and a synthetic physical address, plus the walk geometry
 * (granule, levels, start level, stage-2 concatenated PGD) and the domain's page sizes.
 *
 * Models the allocation side of drivers/iommu/io-pgtable-arm.c (arm_lpae_alloc_pgtable(),
 * arm_lpae_restrict_pgsizes(), arm_64_lpae_alloc_pgtable_s1/s2(), the ARM_LPAE_* index
 * macros) and the fixed-top 4K tables of the generic page table code (iommupt formats
 * `vtdss` and `x86_64`, drivers/iommu/generic_pt/) that the Intel VT-d driver uses, at
 * torvalds/linux mainline as of May 2026 (v7.1-rc).
 *
 * Levels are numbered as io-pgtable-arm numbers them: the leaf-page level is 3, a 4-level
 * table starts at 0 and a 5-level VT-d table at -1. {@link ptLevel} converts to generic_pt
 * numbering (0 = leaf-page level), which the gather level bitmaps use.
 * @module
 */

import { ffs, fls } from "../bits.ts";
import type { EventLog } from "../events.ts";

/** `ARM_LPAE_MAX_LEVELS`: the leaf-page level is `ARM_LPAE_MAX_LEVELS - 1`. */
export const ARM_LPAE_MAX_LEVELS = 4;
/** `ARM_LPAE_S2_MAX_CONCAT_PAGES`. */
export const ARM_LPAE_S2_MAX_CONCAT_PAGES = 16;
/** `IOMMU_READ`. */
export const IOMMU_READ = 1;
/** `IOMMU_WRITE`. */
export const IOMMU_WRITE = 2;

/** `SZ_4K`: the 4K granule and page. */
export const SZ_4K = 0x1000n;
/** `SZ_16K`: the 16K granule and page. */
export const SZ_16K = 0x4000n;
/** `SZ_64K`: the 64K granule and page. */
export const SZ_64K = 0x10000n;
/** `SZ_2M`: a level-2 block with the 4K granule. */
export const SZ_2M = 0x200000n;
/** `SZ_32M`: a level-2 block with the 16K granule. */
export const SZ_32M = 0x2000000n;
/** `SZ_512M`: a level-2 block with the 64K granule. */
export const SZ_512M = 0x20000000n;
/** `SZ_1G`: a level-1 block with the 4K granule. */
export const SZ_1G = 0x40000000n;
/** A level-1 block with the 64K granule and 52-bit output addresses. */
export const SZ_4T = 1n << 42n;

/**
 * Page-table formats: the two io-pgtable-arm formats the SMMUv3 driver allocates, and the
 * iommupt formats of the VT-d driver (second stage and first stage).
 */
export type PgtableFmt = "ARM_64_LPAE_S1" | "ARM_64_LPAE_S2" | "vtdss" | "x86_64";

/** Which kernel library owns the table, and so which map/unmap semantics apply. */
export type PgtableImpl = "io-pgtable-arm" | "iommupt";

/** One valid table entry. An absent index is an invalid (zero) entry. */
export type Pte =
  | { readonly kind: "table"; readonly table: number }
  | { readonly kind: "leaf"; readonly oa: bigint; readonly prot: number };

/** One table page. */
export interface PtTable {
  /** Stable id; a freed table's id is never given to another table. */
  readonly id: number;
  /** Synthetic physical address (aligned to the table size), for cache models. */
  readonly pa: bigint;
  /** Level of the entries this table holds. */
  readonly level: number;
  /** First input address this table translates. */
  readonly base: bigint;
  /** Valid entries by index. */
  readonly entries: Map<number, Pte>;
}

/** A domain's page table. Plain data, so `structuredClone` branches it. */
export interface IoPgtable {
  /** Table format. */
  readonly fmt: PgtableFmt;
  /** io-pgtable-arm for the ARM formats, iommupt for the VT-d ones. */
  readonly impl: PgtableImpl;
  /** Page and block sizes the domain may use (`domain->pgsize_bitmap`). */
  readonly pgsizeBitmap: bigint;
  /** Input address bits. */
  readonly ias: number;
  /** Output address bits. */
  readonly oas: number;
  /** log2 of the granule. */
  readonly pgShift: number;
  /** Index bits of a non-root table. */
  readonly bitsPerLevel: number;
  /** Level of the root table. */
  readonly startLevel: number;
  /** Index bits of the root table (with stage-2 concatenation). */
  readonly pgdBits: number;
  /** Id of the root table. */
  readonly root: number;
  /** Every allocated, not yet freed table (linked or waiting on a freelist). */
  readonly tables: Map<number, PtTable>;
  /** Next table id. */
  nextTableId: number;
  /** Next free synthetic physical address for a table page. */
  nextTablePa: bigint;
  /** `IO_PGTABLE_QUIRK_NO_WARN`: map/unmap misuse returns errors without WARNs. */
  readonly noWarn: boolean;
  /** iommupt `PT_FEAT_FLUSH_RANGE_NO_GAPS` (AMD under a hypervisor); VT-d leaves it clear. */
  readonly noGaps: boolean;
  /** The World's event log, for WARNs. */
  readonly log: EventLog;
}

/** Options for {@link ioPgtableAlloc}. */
export interface IoPgtableAllocOptions {
  /** Default `ARM_64_LPAE_S1`. */
  readonly fmt?: PgtableFmt;
  /** Page sizes the driver offers (`cfg->pgsize_bitmap`); restricted to one granule. */
  readonly pgsizeBitmap: bigint;
  /** Input address bits (default 48). */
  readonly ias?: number;
  /** Output address bits (default 48). */
  readonly oas?: number;
  /** CPU `PAGE_SIZE`, which io-pgtable-arm prefers as granule (default 4K). */
  readonly pageSize?: bigint;
  /** First synthetic table address (default: the upper half of the output space). */
  readonly tablePaBase?: bigint;
  /** `IO_PGTABLE_QUIRK_NO_WARN`. */
  readonly noWarn?: boolean;
  /** iommupt `PT_FEAT_FLUSH_RANGE_NO_GAPS`. */
  readonly noGaps?: boolean;
}

/** generic_pt level of an io-pgtable-arm level: 0 is the leaf-page level. */
export function ptLevel(level: number): number {
  return ARM_LPAE_MAX_LEVELS - 1 - level;
}

/** `ARM_LPAE_GRANULE()`: the smallest page and the size of a non-root table. */
export function granuleSize(pt: IoPgtable): bigint {
  return 1n << BigInt(pt.pgShift);
}

/** `ARM_LPAE_LVL_SHIFT()`: the input-address bit where the index of `level` starts. */
export function lvlShift(pt: IoPgtable, level: number): number {
  return (ARM_LPAE_MAX_LEVELS - level) * pt.bitsPerLevel + 3;
}

/** `ARM_LPAE_BLOCK_SIZE()`: the span of one entry of `level`. */
export function blockSize(pt: IoPgtable, level: number): bigint {
  return 1n << BigInt(lvlShift(pt, level));
}

/** Number of entries in a table of `level` (the root may be smaller or concatenated). */
export function ptesInTable(pt: IoPgtable, level: number): number {
  return 2 ** (level === pt.startLevel ? pt.pgdBits : pt.bitsPerLevel);
}

/** `ARM_LPAE_LVL_IDX()`: the index `iova` selects in a table of `level`. */
export function lvlIdx(pt: IoPgtable, iova: bigint, level: number): number {
  return Number((iova >> BigInt(lvlShift(pt, level))) & BigInt(ptesInTable(pt, level) - 1));
}

/** Input address of entry `index` of table `t`. */
export function entryIova(pt: IoPgtable, t: PtTable, index: number): bigint {
  return t.base + (BigInt(index) << BigInt(lvlShift(pt, t.level)));
}

/**
 * `arm_lpae_max_entries()`: entries from `index` to the end of its table page, so one
 * map/unmap call never crosses a page of a concatenated PGD. Also capped at the table's
 * real end, where the kernel relies on the caller staying inside the input range.
 */
export function maxEntries(pt: IoPgtable, t: PtTable, index: number): number {
  const perPage = 2 ** pt.bitsPerLevel;
  return Math.min(perPage - (index & (perPage - 1)), ptesInTable(pt, t.level) - index);
}

/** The table with id `id`; throws if it does not exist (an invspec bug). */
export function tableGet(pt: IoPgtable, id: number): PtTable {
  const t = pt.tables.get(id);
  if (!t) throw new RangeError(`Cannot find page table ${id}: it was freed or never existed`);
  return t;
}

/**
 * Follows arm_lpae_restrict_pgsizes(): keeps the sizes of one granule (the CPU page size
 * if offered, else the largest smaller one, else the smallest larger one) and caps the
 * address sizes at 48 bits, 52 with a 64K granule.
 */
export function armLpaeRestrictPgsizes(
  pgsizeBitmap: bigint,
  opts: { readonly pageSize?: bigint; readonly ias: number; readonly oas: number },
): { pgsizeBitmap: bigint; ias: number; oas: number } {
  const page = opts.pageSize ?? SZ_4K;
  const below = pgsizeBitmap & (page - 1n);
  const above = pgsizeBitmap & ~(page - 1n);
  let granule = 0n;
  if (pgsizeBitmap & page) granule = page;
  else if (below) granule = 1n << BigInt(fls(below) - 1);
  else if (above) granule = 1n << BigInt(ffs(above));
  let maxAddrBits = 48;
  let sizes = 0n;
  if (granule === SZ_4K) sizes = SZ_4K | SZ_2M | SZ_1G;
  else if (granule === SZ_16K) sizes = SZ_16K | SZ_32M;
  else if (granule === SZ_64K) {
    // Only the 64K granule can hold 52-bit output addresses (and 4T level-1 blocks).
    maxAddrBits = 52;
    sizes = SZ_64K | SZ_512M | (opts.oas > 48 ? SZ_4T : 0n);
  }
  return {
    pgsizeBitmap: pgsizeBitmap & sizes,
    ias: Math.min(opts.ias, maxAddrBits),
    oas: Math.min(opts.oas, maxAddrBits),
  };
}

// Follows arm_lpae_concat_mandatory(): the Arm ARM requires a concatenated stage-2 PGD
// (one level fewer) for these granule / start level / address size combinations.
function concatMandatory(granule: bigint, start: number, ias: number, oas: number): boolean {
  if (granule === SZ_16K && start === 0) return oas === 48 || ias === 48;
  if (granule === SZ_4K && start === 0) return oas === 40 || oas === 42;
  return granule === SZ_16K && start === 1 && oas === 40;
}

const LPAE_OAS = new Set([32, 36, 40, 42, 44, 48, 52]);

function restrict(opts: IoPgtableAllocOptions, fmt: PgtableFmt) {
  const ias = opts.ias ?? 48;
  const oas = opts.oas ?? 48;
  if (fmt === "vtdss" || fmt === "x86_64") {
    // The VT-d formats are 4K tables with 2M and 1G leaves and 3 to 5 levels.
    return { pgsizeBitmap: opts.pgsizeBitmap & (SZ_4K | SZ_2M | SZ_1G), ias, oas, maxIas: 57 };
  }
  return { ...armLpaeRestrictPgsizes(opts.pgsizeBitmap, { ...opts, ias, oas }), maxIas: 52 };
}

/**
 * Follows arm_64_lpae_alloc_pgtable_s1/s2() via arm_lpae_alloc_pgtable() (and the fixed-top
 * iommupt init for the VT-d formats): derives the geometry and allocates an empty root.
 *
 * @throws {RangeError} For a configuration the kernel would refuse (no usable granule, too
 * many address bits, an output size the TCR cannot encode).
 */
export function ioPgtableAlloc(log: EventLog, opts: IoPgtableAllocOptions): IoPgtable {
  const fmt = opts.fmt ?? "ARM_64_LPAE_S1";
  const r = restrict(opts, fmt);
  if (!(r.pgsizeBitmap & (SZ_4K | SZ_16K | SZ_64K))) {
    throw new RangeError(`Cannot allocate ${fmt} page table: no 4K, 16K or 64K granule offered`);
  }
  if (r.ias > r.maxIas || r.oas > 52) {
    throw new RangeError(`Cannot allocate ${fmt} page table: ias ${r.ias} / oas ${r.oas} too big`);
  }
  if ((fmt === "ARM_64_LPAE_S1" || fmt === "ARM_64_LPAE_S2") && !LPAE_OAS.has(r.oas)) {
    throw new RangeError(`Cannot allocate ${fmt} page table: oas ${r.oas} has no IPS encoding`);
  }
  const pgShift = ffs(r.pgsizeBitmap);
  const bitsPerLevel = pgShift - 3;
  const vaBits = r.ias - pgShift;
  const levels = Math.ceil(vaBits / bitsPerLevel);
  let startLevel = ARM_LPAE_MAX_LEVELS - levels;
  // The root only needs the bits the other levels leave over.
  let pgdBits = vaBits - bitsPerLevel * (levels - 1);
  const granule = 1n << BigInt(pgShift);
  if (fmt === "ARM_64_LPAE_S2" && concatMandatory(granule, startLevel, r.ias, r.oas)) {
    if (2 ** pgdBits > ARM_LPAE_S2_MAX_CONCAT_PAGES) {
      throw new RangeError(`Cannot allocate ${fmt} page table: PGD too big to concatenate`);
    }
    pgdBits += bitsPerLevel;
    startLevel++;
  }
  const pt: IoPgtable = {
    fmt,
    impl: fmt === "vtdss" || fmt === "x86_64" ? "iommupt" : "io-pgtable-arm",
    pgsizeBitmap: r.pgsizeBitmap,
    ias: r.ias,
    oas: r.oas,
    pgShift,
    bitsPerLevel,
    startLevel,
    pgdBits,
    root: 0,
    tables: new Map(),
    nextTableId: 0,
    nextTablePa: opts.tablePaBase ?? 1n << BigInt(r.oas - 1),
    noWarn: opts.noWarn ?? false,
    noGaps: opts.noGaps ?? false,
    log,
  };
  tableAlloc(pt, startLevel, 0n);
  return pt;
}

/** Allocates an empty table of `level` translating from `base`; returns it unlinked. */
export function tableAlloc(pt: IoPgtable, level: number, base: bigint): PtTable {
  // A table page is at least 64 bytes and aligned to its size, like the kernel's pages.
  const bytes = BigInt(Math.max(8 * ptesInTable(pt, level), 64));
  const pa = (pt.nextTablePa + bytes - 1n) & ~(bytes - 1n);
  pt.nextTablePa = pa + bytes;
  const t: PtTable = { id: pt.nextTableId++, pa, level, base, entries: new Map() };
  pt.tables.set(t.id, t);
  return t;
}

/** Smallest page size of the domain (`1 << __ffs(pgsize_bitmap)`). */
export function minPagesz(pt: IoPgtable): bigint {
  return 1n << BigInt(ffs(pt.pgsizeBitmap));
}
