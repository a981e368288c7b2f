/**
 * Context Descriptors: the eight qwords describing one stage-1 address space (one PASID of a
 * master): the page-table base and TCR, and the ASID its TLB entries are tagged with. Built for
 * an S1 paging domain or an SVA (process) address space; a released process keeps a valid CD
 * that faults everything.
 * Models the `CTXDESC_CD_*` layout of arm-smmu-v3.h, arm_smmu_make_s1_cd() and
 * arm_smmu_get_cd_used() of arm-smmu-v3.c and arm_smmu_make_sva_cd() of arm-smmu-v3-sva.c, at
 * mainline 6a01b9f0a5ec.
 * @module
 */

import { fieldGet, fieldPrep, genmask } from "../../bits.ts";
import { NUM_ENTRY_QWORDS } from "./ste.ts";

/** One CD: eight 64-bit qwords. */
export type Cd = bigint[];

const bit = (n: number): bigint => 1n << BigInt(n);

// CD qwords 0 and 1.
const CTXDESC_CD_0_TCR_T0SZ = genmask(5, 0);
const CTXDESC_CD_0_TCR_TG0 = genmask(7, 6);
const CTXDESC_CD_0_TCR_IRGN0 = genmask(9, 8);
const CTXDESC_CD_0_TCR_ORGN0 = genmask(11, 10);
const CTXDESC_CD_0_TCR_SH0 = genmask(13, 12);
/** CD.EPD0: TTB0 walks disabled (every access faults). */
export const CTXDESC_CD_0_TCR_EPD0: bigint = bit(14);
const CTXDESC_CD_0_TCR_EPD1 = bit(30);
/** CD valid bit. */
export const CTXDESC_CD_0_V: bigint = bit(31);
const CTXDESC_CD_0_AA64 = bit(41);
const CTXDESC_CD_0_TCR_HD = bit(42);
const CTXDESC_CD_0_TCR_HA = bit(43);
/** CD.S: stage-1 faults stall. */
export const CTXDESC_CD_0_S: bigint = bit(44);
const CTXDESC_CD_0_R = bit(45);
const CTXDESC_CD_0_A = bit(46);
const CTXDESC_CD_0_ASET = bit(47);
/** CD.ASID field mask. */
export const CTXDESC_CD_0_ASID: bigint = genmask(63, 48);
const CTXDESC_CD_1_TTB0_MASK = genmask(51, 4);
/** CDs per level-2 table of a two-level CD table. */
export const CTXDESC_L2_ENTRIES: number = 1024;
/** Largest `s1cdmax` of a linear CD table (64 KiB of CDs). */
export const CTXDESC_LINEAR_CDMAX: number = 10;

/** Stage-1 translation setup of an S1 domain (io-pgtable `arm_lpae_s1_cfg`). */
export interface S1PgtblCfg {
  /** Stage-1 table base (TTB0). */
  readonly ttbr: bigint;
  /** TCR.T0SZ. */
  readonly tsz: number;
  /** TCR.TG0 (0 = 4K, 1 = 64K, 2 = 16K). */
  readonly tg: number;
  /** TCR.IRGN0. */
  readonly irgn: number;
  /** TCR.ORGN0. */
  readonly orgn: number;
  /** TCR.SH0. */
  readonly sh: number;
  /** TCR.IPS (output size). */
  readonly ips: number;
  /** MAIR. */
  readonly mair: bigint;
  /** `IO_PGTABLE_QUIRK_ARM_HD`: hardware dirty tracking. */
  readonly hd: boolean;
}

/** The CPU configuration an SVA CD copies, since the SMMU walks the CPU's page tables. */
export interface SvaCpu {
  /** `vabits_actual`. */
  readonly vabits: number;
  /** ID_AA64MMFR0_EL1.PARange. */
  readonly par: number;
  /** MAIR_EL1. */
  readonly mair: bigint;
  /** TG0 encoding of PAGE_SIZE (0 = 4K). */
  readonly tg: number;
}

/** A process address space, as an SVA CD sees it. */
export interface SvaMm {
  /** Physical address of the process page table (`virt_to_phys(mm->pgd)`). */
  readonly pgd: bigint;
}

/** A 4K-page, 48-bit VA, 48-bit PA arm64 CPU with a representative MAIR_EL1. */
export const SVA_CPU_DEFAULT: SvaCpu = { vabits: 48, par: 5, mair: 0xbbff440c0400n, tg: 0 };

/** PAGE_SIZE of the CPU, from its TG0 encoding. */
export function svaCpuPageSize(cpu: SvaCpu): bigint {
  return 1n << BigInt(12 + 2 * [0, 2, 1][cpu.tg]);
}

function zero(): Cd {
  return new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
}

const ARM_LPAE_TCR_RGN_WBWA = 1n;
const ARM_LPAE_TCR_SH_IS = 3n;

/** Follows arm_smmu_make_s1_cd(): the CD of an S1 paging domain (TTB0 only, EPD1 set). */
export function makeS1Cd(
  ctx: { readonly asid: number; readonly s1: S1PgtblCfg; readonly stallEnabled: boolean },
): Cd {
  const t = zero();
  const s1 = ctx.s1;
  t[0] = fieldPrep(BigInt(s1.tsz), 5, 0) | fieldPrep(BigInt(s1.tg), 7, 6) |
    fieldPrep(BigInt(s1.irgn), 9, 8) | fieldPrep(BigInt(s1.orgn), 11, 10) |
    fieldPrep(BigInt(s1.sh), 13, 12) | CTXDESC_CD_0_TCR_EPD1 | CTXDESC_CD_0_V |
    fieldPrep(BigInt(s1.ips), 34, 32) | CTXDESC_CD_0_AA64 |
    (ctx.stallEnabled ? CTXDESC_CD_0_S : 0n) | CTXDESC_CD_0_R | CTXDESC_CD_0_A |
    CTXDESC_CD_0_ASET | fieldPrep(BigInt(ctx.asid), 63, 48);
  // Dirty tracking needs both the access flag and dirty state updates.
  if (s1.hd) t[0] |= CTXDESC_CD_0_TCR_HA | CTXDESC_CD_0_TCR_HD;
  t[1] = s1.ttbr & CTXDESC_CD_1_TTB0_MASK;
  t[3] = s1.mair;
  return t;
}

/**
 * Follows arm_smmu_make_sva_cd(): a CD over a process page table. Without an mm (the process
 * went away while DMA may still run) the CD stays valid but sets EPD0, so everything faults
 * without C_BAD_CD events; the hardware ignores TTB0 then, which makes the switch between the
 * two forms hitless. Stall is turned off too (unless forced) so such DMA aborts quickly.
 */
export function makeSvaCd(
  ctx: {
    readonly asid: number;
    readonly mm: SvaMm | null;
    readonly cpu: SvaCpu;
    readonly stallEnabled: boolean;
    readonly stallForce: boolean;
  },
): Cd {
  const t = zero();
  const cpu = ctx.cpu;
  t[0] = CTXDESC_CD_0_TCR_EPD1 | CTXDESC_CD_0_V | fieldPrep(BigInt(cpu.par), 34, 32) |
    CTXDESC_CD_0_AA64 | (ctx.stallEnabled ? CTXDESC_CD_0_S : 0n) | CTXDESC_CD_0_R |
    CTXDESC_CD_0_A | CTXDESC_CD_0_ASET | fieldPrep(BigInt(ctx.asid), 63, 48);
  if (ctx.mm) {
    t[0] |= fieldPrep(BigInt(64 - cpu.vabits), 5, 0) | fieldPrep(BigInt(cpu.tg), 7, 6) |
      fieldPrep(ARM_LPAE_TCR_RGN_WBWA, 9, 8) | fieldPrep(ARM_LPAE_TCR_RGN_WBWA, 11, 10) |
      fieldPrep(ARM_LPAE_TCR_SH_IS, 13, 12);
    t[1] = ctx.mm.pgd & CTXDESC_CD_1_TTB0_MASK;
  } else {
    t[0] |= CTXDESC_CD_0_TCR_EPD0;
    if (!ctx.stallForce) t[0] &= ~(CTXDESC_CD_0_S | CTXDESC_CD_0_R);
  }
  t[3] = cpu.mair;
  return t;
}

/**
 * Follows arm_smmu_get_cd_used(): only V when invalid; otherwise everything, except the TTB0
 * walk fields when EPD0 disables TTB0.
 */
export function getCdUsed(ent: readonly bigint[], used: bigint[]): void {
  used.fill(0n);
  used[0] = CTXDESC_CD_0_V;
  if (!(ent[0] & CTXDESC_CD_0_V)) return;
  used.fill((1n << 64n) - 1n);
  if (ent[0] & CTXDESC_CD_0_TCR_EPD0) {
    used[0] &= ~(CTXDESC_CD_0_TCR_T0SZ | CTXDESC_CD_0_TCR_TG0 | CTXDESC_CD_0_TCR_IRGN0 |
      CTXDESC_CD_0_TCR_ORGN0 | CTXDESC_CD_0_TCR_SH0);
    used[1] &= ~CTXDESC_CD_1_TTB0_MASK;
  }
}

/** Decoded fields of a CD, for traces and for models of the SMMU's caches. */
export interface CdInfo {
  /** CD.V. */
  readonly valid: boolean;
  /** CD.ASID: the tag of the address space's TLB entries. */
  readonly asid: number;
  /** TTB0 disabled: every access faults. */
  readonly epd0: boolean;
  /** TTB0. */
  readonly ttb0: bigint;
}

/** Reads the fields of `cd` the invalidation models care about. */
export function cdDecode(cd: readonly bigint[]): CdInfo {
  return {
    valid: (cd[0] & CTXDESC_CD_0_V) !== 0n,
    asid: Number(fieldGet(cd[0], 63, 48)),
    epd0: (cd[0] & CTXDESC_CD_0_TCR_EPD0) !== 0n,
    ttb0: cd[1] & CTXDESC_CD_1_TTB0_MASK,
  };
}
