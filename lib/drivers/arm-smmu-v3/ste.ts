/**
 * Stream Table Entries: the eight qwords the SMMU reads for a StreamID, as the driver builds
 * them (abort, bypass, CD table for stage 1, stage 2, nested), and which of their bits the
 * hardware reads in each configuration, which decides whether a change can be made hitlessly.
 * Models the `STRTAB_STE_*` layout of arm-smmu-v3.h and arm_smmu_make_{abort,bypass,cdtable,
 * s2_domain}_ste(), arm_smmu_get_ste_used(), arm_smmu_get_ste_update_safe() of arm-smmu-v3.c
 * and arm_smmu_make_nested_domain_ste() of arm-smmu-v3-iommufd.c, at mainline 6a01b9f0a5ec.
 * @module
 */

import { fieldGet, fieldPrep, genmask } from "../../bits.ts";

/** Qwords in an STE or a CD (`NUM_ENTRY_QWORDS`). */
export const NUM_ENTRY_QWORDS: number = 8;

/** One STE: eight 64-bit qwords, qword 0 first. */
export type Ste = bigint[];

const bit = (n: number): bigint => 1n << BigInt(n);

/** STE valid bit. */
export const STRTAB_STE_0_V: bigint = bit(0);
const STRTAB_STE_0_CFG = genmask(3, 1);
/** STE.Config: abort all traffic. */
export const STRTAB_STE_0_CFG_ABORT: number = 0;
/** STE.Config: bypass (no translation). */
export const STRTAB_STE_0_CFG_BYPASS: number = 4;
/** STE.Config: stage 1 through the CD table. */
export const STRTAB_STE_0_CFG_S1_TRANS: number = 5;
const STRTAB_STE_0_CFG_S2_TRANS = 6;
/** STE.Config: stage 1 and stage 2. */
export const STRTAB_STE_0_CFG_NESTED: number = 7;
const STRTAB_STE_0_S1FMT = genmask(5, 4);
/** STE.S1Fmt: linear CD table. */
export const STRTAB_STE_0_S1FMT_LINEAR: number = 0;
/** STE.S1Fmt: two-level CD table, 64 KiB leaf tables. */
export const STRTAB_STE_0_S1FMT_64K_L2: number = 2;
const STRTAB_STE_0_S1CTXPTR_MASK = genmask(51, 6);
const STRTAB_STE_0_S1CDMAX = genmask(63, 59);
// STE qword 1.
const STRTAB_STE_1_S1DSS = genmask(1, 0);
/** STE.S1DSS: non-PASID traffic of a CD-table STE aborts. */
export const STRTAB_STE_1_S1DSS_TERMINATE: number = 0;
/** STE.S1DSS: non-PASID traffic bypasses stage 1. */
export const STRTAB_STE_1_S1DSS_BYPASS: number = 1;
/** STE.S1DSS: non-PASID traffic uses CD 0. */
export const STRTAB_STE_1_S1DSS_SSID0: number = 2;
const STRTAB_STE_1_S1CIR = genmask(3, 2);
const STRTAB_STE_1_S1COR = genmask(5, 4);
const STRTAB_STE_1_S1CSH = genmask(7, 6);
const STRTAB_STE_1_S1C_CACHE_WBRA = 1;
/** STE.MEV: fault events may be merged. */
export const STRTAB_STE_1_MEV: bigint = bit(19);
const STRTAB_STE_1_S2FWB = bit(25);
const STRTAB_STE_1_S1STALLD = bit(27);
/** STE.EATS field mask. */
export const STRTAB_STE_1_EATS: bigint = genmask(29, 28);
/** STE.EATS: ATS translation requests abort. */
export const STRTAB_STE_1_EATS_ABT: number = 0;
/** STE.EATS: full ATS. */
export const STRTAB_STE_1_EATS_TRANS: number = 1;
const STRTAB_STE_1_EATS_S1CHK = 2;
const STRTAB_STE_1_STRW = genmask(31, 30);
const STRTAB_STE_1_STRW_NSEL1 = 0;
const STRTAB_STE_1_STRW_EL2 = 2;
/** STE.SHCFG field mask. */
export const STRTAB_STE_1_SHCFG: bigint = genmask(45, 44);
const STRTAB_STE_1_SHCFG_INCOMING = 1;
// STE qwords 2 and 3.
const STRTAB_STE_2_S2VMID = genmask(15, 0);
const STRTAB_STE_2_VTCR = genmask(50, 32);
const STRTAB_STE_2_S2AA64 = bit(51);
const STRTAB_STE_2_S2ENDI = bit(52);
const STRTAB_STE_2_S2PTW = bit(54);
/** STE.S2S: stage-2 faults stall. */
export const STRTAB_STE_2_S2S: bigint = bit(57);
const STRTAB_STE_2_S2R = bit(58);
const STRTAB_STE_3_S2TTB_MASK = genmask(51, 4);
/** The vSTE qword 0 bits user space may set for a nested domain. */
export const STRTAB_STE_0_NESTING_ALLOWED: bigint = STRTAB_STE_0_V | STRTAB_STE_0_CFG |
  STRTAB_STE_0_S1FMT | STRTAB_STE_0_S1CTXPTR_MASK | STRTAB_STE_0_S1CDMAX;
/** The vSTE qword 1 bits user space may set for a nested domain. */
export const STRTAB_STE_1_NESTING_ALLOWED: bigint = STRTAB_STE_1_S1DSS | STRTAB_STE_1_S1CIR |
  STRTAB_STE_1_S1COR | STRTAB_STE_1_S1CSH | STRTAB_STE_1_S1STALLD | STRTAB_STE_1_EATS;

const ARM_SMMU_SH_ISH = 3n;

/** What a CD-table STE points at (`struct arm_smmu_ctx_desc_cfg`). */
export interface CdTableRef {
  /** DMA address of the (level-1) CD table. */
  readonly cdtabDma: bigint;
  /** `STRTAB_STE_0_S1FMT_*`. */
  readonly s1fmt: number;
  /** log2 of the number of CDs. */
  readonly s1cdmax: number;
}

/** Stage-2 translation setup of an S2 domain (io-pgtable `arm_lpae_s2_cfg`). */
export interface S2PgtblCfg {
  /** Stage-2 table base. */
  readonly vttbr: bigint;
  /** VTCR.T0SZ. */
  readonly tsz: number;
  /** VTCR.SL0 (start level). */
  readonly sl: number;
  /** VTCR.IRGN0. */
  readonly irgn: number;
  /** VTCR.ORGN0. */
  readonly orgn: number;
  /** VTCR.SH0. */
  readonly sh: number;
  /** VTCR.TG0 (0 = 4K, 1 = 64K, 2 = 16K). */
  readonly tg: number;
  /** VTCR.PS (output size). */
  readonly ps: number;
  /** `IO_PGTABLE_QUIRK_ARM_S2FWB`. */
  readonly s2fwb: boolean;
}

/** SMMU and master properties the STE builders read. */
export interface SteContext {
  /** `ARM_SMMU_FEAT_ATTR_TYPES_OVR`. */
  readonly attrTypesOvr: boolean;
  /** `ARM_SMMU_FEAT_STALLS`. */
  readonly stalls: boolean;
  /** `ARM_SMMU_FEAT_E2H`. */
  readonly e2h: boolean;
  /** `master->stall_enabled`. */
  readonly stallEnabled: boolean;
}

function zero(): Ste {
  return new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
}

const cfgPrep = (cfg: number): bigint => fieldPrep(BigInt(cfg), 3, 1);

/** Follows arm_smmu_make_abort_ste(): valid, all traffic aborted. */
export function makeAbortSte(): Ste {
  const t = zero();
  t[0] = STRTAB_STE_0_V | cfgPrep(STRTAB_STE_0_CFG_ABORT);
  return t;
}

/** Follows arm_smmu_make_bypass_ste(): valid, no translation. */
export function makeBypassSte(ctx: Pick<SteContext, "attrTypesOvr">): Ste {
  const t = zero();
  t[0] = STRTAB_STE_0_V | cfgPrep(STRTAB_STE_0_CFG_BYPASS);
  if (ctx.attrTypesOvr) t[1] = fieldPrep(BigInt(STRTAB_STE_1_SHCFG_INCOMING), 45, 44);
  return t;
}

/**
 * Follows arm_smmu_make_cdtable_ste(): stage 1 through the master's CD table, with `s1dss`
 * saying what non-PASID traffic does (CD 0, bypass or abort).
 */
export function makeCdtableSte(
  ctx: SteContext & { readonly cdTable: CdTableRef },
  opts: { readonly atsEnabled: boolean; readonly s1dss: number },
): Ste {
  const t = zero();
  const cd = ctx.cdTable;
  t[0] = STRTAB_STE_0_V | cfgPrep(STRTAB_STE_0_CFG_S1_TRANS) |
    fieldPrep(BigInt(cd.s1fmt), 5, 4) | (cd.cdtabDma & STRTAB_STE_0_S1CTXPTR_MASK) |
    fieldPrep(BigInt(cd.s1cdmax), 63, 59);
  t[1] = fieldPrep(BigInt(opts.s1dss), 1, 0) |
    fieldPrep(BigInt(STRTAB_STE_1_S1C_CACHE_WBRA), 3, 2) |
    fieldPrep(BigInt(STRTAB_STE_1_S1C_CACHE_WBRA), 5, 4) | fieldPrep(ARM_SMMU_SH_ISH, 7, 6) |
    (ctx.stalls && !ctx.stallEnabled ? STRTAB_STE_1_S1STALLD : 0n) |
    fieldPrep(BigInt(opts.atsEnabled ? STRTAB_STE_1_EATS_TRANS : 0), 29, 28);
  if (ctx.attrTypesOvr && opts.s1dss === STRTAB_STE_1_S1DSS_BYPASS) {
    t[1] |= fieldPrep(BigInt(STRTAB_STE_1_SHCFG_INCOMING), 45, 44);
  }
  if (ctx.e2h) {
    // The stream world follows the CPU's (EL2 with VHE) so that broadcast TLB maintenance for
    // an SVA ASID matches, whichever PASID the CD table serves.
    t[1] |= fieldPrep(BigInt(STRTAB_STE_1_STRW_EL2), 31, 30);
  } else {
    t[1] |= fieldPrep(BigInt(STRTAB_STE_1_STRW_NSEL1), 31, 30);
    // NS-EL1 stage 1 runs under VMID 0, which is never handed to an S2 domain.
    t[2] = fieldPrep(0n, 15, 0);
  }
  return t;
}

/** Follows arm_smmu_make_s2_domain_ste(): stage 2 only, tagged with the domain's VMID. */
export function makeS2DomainSte(
  ctx: SteContext & { readonly vmid: number; readonly s2: S2PgtblCfg },
  opts: { readonly atsEnabled: boolean },
): Ste {
  const t = zero();
  const s2 = ctx.s2;
  t[0] = STRTAB_STE_0_V | cfgPrep(STRTAB_STE_0_CFG_S2_TRANS);
  t[1] = fieldPrep(BigInt(opts.atsEnabled ? STRTAB_STE_1_EATS_TRANS : 0), 29, 28);
  if (s2.s2fwb) t[1] |= STRTAB_STE_1_S2FWB;
  if (ctx.attrTypesOvr) t[1] |= fieldPrep(BigInt(STRTAB_STE_1_SHCFG_INCOMING), 45, 44);
  const vtcr = fieldPrep(BigInt(s2.tsz), 5, 0) | fieldPrep(BigInt(s2.sl), 7, 6) |
    fieldPrep(BigInt(s2.irgn), 9, 8) | fieldPrep(BigInt(s2.orgn), 11, 10) |
    fieldPrep(BigInt(s2.sh), 13, 12) | fieldPrep(BigInt(s2.tg), 15, 14) |
    fieldPrep(BigInt(s2.ps), 18, 16);
  t[2] = fieldPrep(BigInt(ctx.vmid), 15, 0) | fieldPrep(vtcr, 50, 32) | STRTAB_STE_2_S2AA64 |
    STRTAB_STE_2_S2PTW | (ctx.stallEnabled ? STRTAB_STE_2_S2S : 0n) | STRTAB_STE_2_S2R;
  t[3] = s2.vttbr & STRTAB_STE_3_S2TTB_MASK;
  return t;
}

/**
 * Follows arm_smmu_make_nested_domain_ste(): the guest's vSTE over the parent's stage 2. An
 * invalid vSTE becomes an abort STE (so the guest can be told C_BAD_STE); a bypass vSTE runs
 * the stage 2 alone; a CD-table vSTE installs both, with fault events merged (MEV) so a guest
 * cannot flood the event queue.
 */
export function makeNestedDomainSte(
  ctx: SteContext & { readonly vmid: number; readonly s2: S2PgtblCfg },
  opts: { readonly vste: readonly [bigint, bigint]; readonly atsEnabled: boolean },
): Ste {
  const [v0, v1] = opts.vste;
  const cfg = (v0 & STRTAB_STE_0_V) ? Number(fieldGet(v0, 3, 1)) : STRTAB_STE_0_CFG_ABORT;
  switch (cfg) {
    case STRTAB_STE_0_CFG_S1_TRANS: {
      const t = makeS2DomainSte(ctx, opts);
      t[0] = STRTAB_STE_0_V | cfgPrep(STRTAB_STE_0_CFG_NESTED) | (v0 & ~STRTAB_STE_0_CFG);
      t[1] |= v1 | STRTAB_STE_1_MEV;
      return t;
    }
    case STRTAB_STE_0_CFG_BYPASS:
      return makeS2DomainSte(ctx, opts);
    default:
      return makeAbortSte();
  }
}

/**
 * Follows arm_smmu_get_ste_used(): the bits the SMMU reads in `ent`'s configuration. Only V
 * when invalid; CFG; the stage-1 fields when CFG translates stage 1; the stage-2 fields when
 * it translates stage 2; SHCFG for bypass.
 */
export function getSteUsed(ent: readonly bigint[], used: bigint[]): void {
  used.fill(0n);
  used[0] = STRTAB_STE_0_V;
  if (!(ent[0] & STRTAB_STE_0_V)) return;
  const cfg = Number(fieldGet(ent[0], 3, 1));
  used[0] |= STRTAB_STE_0_CFG;
  if (cfg & 1) {
    used[0] |= STRTAB_STE_0_S1FMT | STRTAB_STE_0_S1CTXPTR_MASK | STRTAB_STE_0_S1CDMAX;
    used[1] |= STRTAB_STE_1_S1DSS | STRTAB_STE_1_S1CIR | STRTAB_STE_1_S1COR |
      STRTAB_STE_1_S1CSH | STRTAB_STE_1_S1STALLD | STRTAB_STE_1_STRW | STRTAB_STE_1_EATS |
      STRTAB_STE_1_MEV;
    used[2] |= STRTAB_STE_2_S2VMID;
    // Attribute override applies when S1DSS bypasses stage 1.
    if (Number(fieldGet(ent[1], 1, 0)) === STRTAB_STE_1_S1DSS_BYPASS) {
      used[1] |= STRTAB_STE_1_SHCFG;
    }
  }
  if (cfg & 2) {
    used[1] |= STRTAB_STE_1_S2FWB | STRTAB_STE_1_EATS | STRTAB_STE_1_SHCFG | STRTAB_STE_1_MEV;
    used[2] |= STRTAB_STE_2_S2VMID | STRTAB_STE_2_VTCR | STRTAB_STE_2_S2AA64 |
      STRTAB_STE_2_S2ENDI | STRTAB_STE_2_S2PTW | STRTAB_STE_2_S2S | STRTAB_STE_2_S2R;
    used[3] |= STRTAB_STE_3_S2TTB_MASK;
  }
  if (cfg === STRTAB_STE_0_CFG_BYPASS) used[1] |= STRTAB_STE_1_SHCFG;
}

/**
 * Follows arm_smmu_get_ste_update_safe(): bits that may change in any order. EATS=TRANS is
 * safe because the attach sequence already turned PCI ATS off before changing it (unless
 * S1CHK or S2S is involved, where a transient mix would be an illegal STE); MEV only changes
 * how many fault records are merged.
 */
export function getSteUpdateSafe(cur: readonly bigint[], target: readonly bigint[]): bigint[] {
  const safe = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  const eatsS1chk = fieldPrep(BigInt(STRTAB_STE_1_EATS_S1CHK), 29, 28);
  const eatsTrans = fieldPrep(BigInt(STRTAB_STE_1_EATS_TRANS), 29, 28);
  if (!((cur[1] | target[1]) & eatsS1chk) && !((cur[2] | target[2]) & STRTAB_STE_2_S2S)) {
    safe[1] |= eatsTrans;
  }
  safe[1] |= STRTAB_STE_1_MEV;
  return safe;
}

/** The configuration an STE selects, by name. */
export type SteConfig = "invalid" | "abort" | "bypass" | "s1" | "s2" | "nested" | "reserved";

/** Decoded fields of an STE, for traces and for models of the SMMU's caches. */
export interface SteInfo {
  /** What the STE does with traffic. */
  readonly config: SteConfig;
  /** `STRTAB_STE_1_S1DSS_*` (CD-table STEs). */
  readonly s1dss: number;
  /** `STRTAB_STE_1_EATS_*`. */
  readonly eats: number;
  /** S2VMID (0 for NS-EL1 stage-1 STEs). */
  readonly vmid: number;
  /** CD table address (stage 1). */
  readonly s1ctxptr: bigint;
  /** Stage-2 table address. */
  readonly s2ttb: bigint;
}

const CONFIGS: readonly SteConfig[] = [
  "abort",
  "reserved",
  "reserved",
  "reserved",
  "bypass",
  "s1",
  "s2",
  "nested",
];

/** Reads the fields of `ste` the invalidation models care about. */
export function steDecode(ste: readonly bigint[]): SteInfo {
  return {
    config: (ste[0] & STRTAB_STE_0_V) ? CONFIGS[Number(fieldGet(ste[0], 3, 1))] : "invalid",
    s1dss: Number(fieldGet(ste[1], 1, 0)),
    eats: Number(fieldGet(ste[1], 29, 28)),
    vmid: Number(fieldGet(ste[2], 15, 0)),
    s1ctxptr: ste[0] & STRTAB_STE_0_S1CTXPTR_MASK,
    s2ttb: ste[3] & STRTAB_STE_3_S2TTB_MASK,
  };
}
