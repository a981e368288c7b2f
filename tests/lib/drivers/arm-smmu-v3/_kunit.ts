// The fixtures of arm-smmu-v3-test.c (mainline), shared by the STE, CD and entry-writer
// tests: the test SMMU (STALLS and ATTR_TYPES_OVR, no E2H), the test master's feature flags,
// and the fixed page-table values its make helpers use.
import {
  type Cd,
  makeS1Cd,
  makeSvaCd,
  SVA_CPU_DEFAULT,
} from "../../../../lib/drivers/arm-smmu-v3/cd.ts";
import {
  makeCdtableSte,
  makeS2DomainSte,
  NUM_ENTRY_QWORDS,
  type Ste,
  STRTAB_STE_0_CFG_NESTED,
  STRTAB_STE_0_S1FMT_64K_L2,
  STRTAB_STE_1_MEV,
} from "../../../../lib/drivers/arm-smmu-v3/ste.ts";

/** `enum arm_smmu_test_master_feat`. */
export const ATS = 1;
export const STALL = 2;
export const NESTED = 4;
/** `fake_cdtab_dma_addr`. */
export const FAKE_CDTAB_DMA = 0xF0F0F0F0F0F0n;

/** The STE context of the test SMMU and a master with `feat`. */
export function kunitCtx(feat = 0) {
  return { attrTypesOvr: true, stalls: true, e2h: false, stallEnabled: (feat & STALL) !== 0 };
}

/** The io-pgtable S2 config of arm_smmu_test_make_s2_ste(). */
export const KUNIT_S2 = {
  vttbr: 0xdaedbeefdeadbeefn,
  ps: 1,
  tg: 2,
  sh: 3,
  orgn: 1,
  irgn: 2,
  sl: 3,
  tsz: 4,
  s2fwb: false,
} as const;

/** The io-pgtable S1 config of arm_smmu_test_make_s1_cd(). */
export const KUNIT_S1 = {
  ttbr: 0xdaedbeefdeadbeefn,
  ips: 1,
  tg: 2,
  sh: 3,
  orgn: 1,
  irgn: 2,
  tsz: 4,
  mair: 0xabcdef012345678n,
  hd: false,
} as const;

/** The CD table of arm_smmu_test_make_cdtable_ste(): s1cdmax 0xFF, two-level. */
export function kunitCdTable(dma = FAKE_CDTAB_DMA) {
  return { cdtabDma: dma, s1cdmax: 0xff, s1fmt: STRTAB_STE_0_S1FMT_64K_L2 };
}

/** arm_smmu_test_make_s2_ste(): a zeroed domain (VMID 0). */
export function s2Ste(feat: number): Ste {
  return makeS2DomainSte({ ...kunitCtx(feat), vmid: 0, s2: KUNIT_S2 }, {
    atsEnabled: (feat & ATS) !== 0,
  });
}

/** arm_smmu_test_make_cdtable_ste(): NESTED merges in the S2 STE, as the test does. */
export function cdtableSte(s1dss: number, dma: bigint, feat: number): Ste {
  const ste = makeCdtableSte({ ...kunitCtx(feat), cdTable: kunitCdTable(dma) }, {
    atsEnabled: (feat & ATS) !== 0,
    s1dss,
  });
  if (feat & NESTED) {
    const s2 = s2Ste(feat & ~NESTED);
    ste[0] |= BigInt(STRTAB_STE_0_CFG_NESTED) << 1n;
    ste[1] |= STRTAB_STE_1_MEV;
    for (let i = 2; i < NUM_ENTRY_QWORDS; i++) ste[i] = s2[i];
  }
  return ste;
}

/** arm_smmu_test_make_s1_cd(). */
export function s1Cd(asid: number): Cd {
  return makeS1Cd({ asid, s1: KUNIT_S1, stallEnabled: false });
}

/** arm_smmu_test_make_sva_cd() / _release_cd(): with and without the mm. */
export function svaCd(asid: number, release = false): Cd {
  const mm = release ? null : { pgd: 0x1_2345_6000n };
  return makeSvaCd({ asid, mm, cpu: SVA_CPU_DEFAULT, stallEnabled: false, stallForce: false });
}
