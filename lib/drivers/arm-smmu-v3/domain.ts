/**
 * IOMMU domains as the arm-smmu-v3 driver sees them: paging domains (stage 1 with an ASID,
 * stage 2 with a VMID, or a stage-2 nesting parent), SVA domains (a process address space
 * under an ASID), nested domains (a guest's vSTE over a parent's stage 2, reached through a
 * vIOMMU) and the shared identity and blocked domains. Paging and SVA domains own the
 * invalidation array and the list of attachments; a nested domain contributes to its parent's.
 * Models `struct arm_smmu_domain`, `struct arm_smmu_nested_domain`, arm_smmu_domain_alloc(),
 * arm_smmu_domain_finalise{,_s1,_s2}(), arm_smmu_domain_free_paging(),
 * to_smmu_domain_devices() of arm-smmu-v3.c, arm_smmu_sva_domain_alloc()/free() of
 * arm-smmu-v3-sva.c and arm_vsmmu_alloc_domain_nested() of arm-smmu-v3-iommufd.c, at mainline
 * 6a01b9f0a5ec. Like the kernel, a domain gets its ASID or VMID when it is finalised for an
 * SMMU, which here happens at its first attach unless an SMMU is named at allocation.
 * @module
 */

import { ffs, fieldGet } from "../../bits.ts";
import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import { type S1PgtblCfg, SVA_CPU_DEFAULT, type SvaCpu, svaCpuPageSize, type SvaMm } from "./cd.ts";
import { domainInv } from "./domain_inv.ts";
import { type ArmSmmuDriver, armSmmuInstance, drvDmaAlloc, idAllocLowest } from "./driver.ts";
import { errno, type ErrnoValue, type Ret } from "../../errno.ts";
import { type Invs, invsAlloc } from "./invs.ts";
import type { ArmSmmuMaster } from "./master.ts";
import {
  type S2PgtblCfg,
  STRTAB_STE_0_CFG_ABORT,
  STRTAB_STE_0_CFG_BYPASS,
  STRTAB_STE_0_CFG_S1_TRANS,
  STRTAB_STE_0_NESTING_ALLOWED,
  STRTAB_STE_0_V,
  STRTAB_STE_1_EATS,
  STRTAB_STE_1_EATS_ABT,
  STRTAB_STE_1_EATS_TRANS,
  STRTAB_STE_1_NESTING_ALLOWED,
} from "./ste.ts";

/** `enum arm_smmu_domain_stage`. */
export type DomainStage = "s1" | "s2" | "sva";

/** One attachment of a master (RID or one PASID) to a domain (`arm_smmu_master_domain`). */
export interface MasterDomain {
  /** The attached master. */
  readonly master: ArmSmmuMaster;
  /** The domain attached: the tracking domain itself, or a nested domain of it. */
  readonly domain: IommuDomain;
  /** 0 for the RID, else the PASID. */
  readonly ssid: number;
  /** The nested domain had ATS enabled by the guest. */
  readonly nestedAtsFlush: boolean;
}

/** A domain that tracks its attachments and owns an invalidation array (paging or SVA). */
export interface SmmuDomain {
  /** Domain name (the spec's). */
  readonly name: string;
  /** IOMMU_DOMAIN_UNMANAGED (paging) or IOMMU_DOMAIN_SVA. */
  readonly type: "paging" | "sva";
  /** Which translation the domain's tag and page tables are for. */
  readonly stage: DomainStage;
  /** Allocated with IOMMU_HWPT_ALLOC_NEST_PARENT: an S2 that nested domains sit on. */
  readonly nestParent: boolean;
  /** The SMMU it was finalised for; null until then. */
  smmu: SmmuDevice | null;
  /** `cd.asid` (S1, SVA); 0 until finalised. */
  asid: number;
  /** `s2_cfg.vmid` (S2); 0 until finalised. */
  vmid: number;
  /** Page and block sizes; the smallest is the leaf size of range TLBIs. */
  pgsizeBitmap: bigint;
  /** The RCU-published invalidation array; replaced, never mutated, by a merge or purge. */
  invs: Invs;
  /** `smmu_domain->devices`: every attachment, newest first. */
  readonly devices: MasterDomain[];
  /** Attachments with ATS on. */
  nrAtsMasters: number;
  /** Set by enforce_cache_coherency(): attaching a non-coherent master fails. */
  enforceCacheCoherency: boolean;
  /** Stage-1 page-table setup (S1). */
  s1: S1PgtblCfg | null;
  /** Stage-2 page-table setup (S2). */
  s2: S2PgtblCfg | null;
  /** The process address space (SVA); null once released. */
  mm: SvaMm | null;
  /** The CPU configuration SVA CDs copy. */
  readonly cpu: SvaCpu;
  /** An ASID or VMID the spec asked for instead of the allocator's choice. */
  readonly requestedId: number | null;
}

/** The parts of `struct arm_vsmmu` the attach path reads. */
export interface VsmmuRef {
  /** The SMMU the vIOMMU belongs to. */
  readonly smmu: SmmuDevice;
  /** The nesting-parent S2 domain the vIOMMU was created on. */
  readonly s2Parent: SmmuDomain;
  /** The VMID taken from the parent at vIOMMU creation. */
  readonly vmid: number;
}

/** `struct arm_smmu_nested_domain`: a guest vSTE over a parent's stage 2. */
export interface NestedDomain {
  /** Domain name. */
  readonly name: string;
  /** IOMMU_DOMAIN_NESTED. */
  readonly type: "nested";
  /** The vIOMMU the domain was allocated on. */
  readonly vsmmu: VsmmuRef;
  /** The vSTE asked for EATS=TRANS: the guest issues its own ATC invalidations. */
  readonly enableAts: boolean;
  /** vSTE qwords 0 and 1 (EATS cleared). */
  readonly ste: readonly [bigint, bigint];
}

/** The shared identity or blocked domain. */
export interface StaticDomain {
  /** `"identity"` or `"blocked"`. */
  readonly name: string;
  /** IOMMU_DOMAIN_IDENTITY or IOMMU_DOMAIN_BLOCKED. */
  readonly type: "identity" | "blocked";
}

/** Any domain a master can be attached to. */
export type IommuDomain = SmmuDomain | NestedDomain | StaticDomain;

/**
 * Follows to_smmu_domain_devices(): the domain whose array and attachment list an attach to
 * `domain` changes: itself for paging and SVA, the parent for nested, none for identity and
 * blocked (they do not use the IOTLB).
 */
export function toSmmuDomainDevices(domain: IommuDomain | null): SmmuDomain | null {
  if (!domain) return null;
  if (domain.type === "paging" || domain.type === "sva") return domain;
  if (domain.type === "nested") return domain.vsmmu.s2Parent;
  return null;
}

/** Options for {@link domainAllocPaging}. */
export interface PagingDomainOptions {
  /** Domain name. */
  readonly name: string;
  /** Default `"s1"`. */
  readonly stage?: "s1" | "s2";
  /** A nesting parent (implies stage 2). */
  readonly nestParent?: boolean;
  /** Page sizes; default the SMMU's. */
  readonly pgsizeBitmap?: bigint;
  /** Finalise now for this SMMU, as `domain_alloc_paging_flags(dev)` does. */
  readonly smmu?: SmmuDevice;
  /** Use this ASID (S1) or VMID (S2) instead of the lowest free one. */
  readonly id?: number;
}

function register<T extends IommuDomain>(drv: ArmSmmuDriver, d: T): T {
  if (drv.domains.has(d.name)) throw new RangeError(`domain "${d.name}" already exists`);
  drv.domains.set(d.name, d);
  return d;
}

// Finalises now when the caller names the SMMU, as allocating for a device does.
function registerFinalised(
  drv: ArmSmmuDriver,
  d: SmmuDomain,
  smmu: SmmuDevice | undefined,
): SmmuDomain | ErrnoValue {
  const r = smmu ? domainFinalise(drv, d, { smmu }) : 0;
  return r === 0 ? register(drv, d) : r;
}

function smmuDomainNew(
  o: { name: string; type: "paging" | "sva"; stage: DomainStage; nestParent: boolean },
  extra: { pgsizeBitmap: bigint; id: number | null; mm: SvaMm | null; cpu: SvaCpu },
): SmmuDomain {
  // arm_smmu_domain_alloc(): every domain starts with an empty array, so readers never see
  // a missing one.
  return {
    ...o,
    smmu: null,
    asid: 0,
    vmid: 0,
    pgsizeBitmap: extra.pgsizeBitmap,
    invs: invsAlloc(0),
    devices: [],
    nrAtsMasters: 0,
    enforceCacheCoherency: false,
    s1: null,
    s2: null,
    mm: extra.mm,
    cpu: extra.cpu,
    requestedId: extra.id,
  };
}

/** Follows arm_smmu_domain_alloc_paging_flags(): a paging domain, finalised now if `smmu`. */
export function domainAllocPaging(
  drv: ArmSmmuDriver,
  opts: PagingDomainOptions,
): SmmuDomain | ErrnoValue {
  const nestParent = opts.nestParent ?? false;
  const stage = nestParent ? "s2" : opts.stage ?? "s1";
  const d = smmuDomainNew({ name: opts.name, type: "paging", stage, nestParent }, {
    pgsizeBitmap: opts.pgsizeBitmap ?? 0n,
    id: opts.id ?? null,
    mm: null,
    cpu: SVA_CPU_DEFAULT,
  });
  return registerFinalised(drv, d, opts.smmu);
}

/** Follows arm_smmu_sva_domain_alloc(): a domain over a process address space. */
export function domainAllocSva(
  drv: ArmSmmuDriver,
  opts: {
    readonly name: string;
    readonly mm?: SvaMm;
    readonly cpu?: SvaCpu;
    readonly smmu?: SmmuDevice;
    readonly id?: number;
  },
): SmmuDomain | ErrnoValue {
  const cpu = opts.cpu ?? SVA_CPU_DEFAULT;
  // The SVA domain's only page size is the CPU's PAGE_SIZE: range TLBIs use it as leaf size.
  const d = smmuDomainNew({ name: opts.name, type: "sva", stage: "sva", nestParent: false }, {
    pgsizeBitmap: svaCpuPageSize(cpu),
    id: opts.id ?? null,
    mm: opts.mm ?? { pgd: drvDmaAlloc(drv, 0x1000n) },
    cpu,
  });
  return registerFinalised(drv, d, opts.smmu);
}

/**
 * Follows arm_vsmmu_alloc_domain_nested() with arm_smmu_validate_vste(): a nested domain from
 * a guest vSTE. An invalid vSTE is zeroed; other bits than the guest may control, a CFG other
 * than abort/bypass/S1, or an EATS other than ABT/TRANS are -EIO. ATS is enabled when a
 * translating vSTE asks for EATS=TRANS.
 */
export function domainAllocNested(
  drv: ArmSmmuDriver,
  opts: {
    readonly name: string;
    readonly s2Parent: SmmuDomain;
    readonly vste: readonly [bigint, bigint];
  },
): NestedDomain | ErrnoValue {
  const parent = opts.s2Parent;
  if (!parent.nestParent || !parent.smmu) return errno("EINVAL");
  let [v0, v1] = opts.vste;
  let enableAts = false;
  if (!(v0 & STRTAB_STE_0_V)) {
    v0 = 0n;
    v1 = 0n;
  } else {
    if ((v0 & ~STRTAB_STE_0_NESTING_ALLOWED) || (v1 & ~STRTAB_STE_1_NESTING_ALLOWED)) {
      return errno("EIO");
    }
    const cfg = Number(fieldGet(v0, 3, 1));
    if (
      cfg !== STRTAB_STE_0_CFG_ABORT && cfg !== STRTAB_STE_0_CFG_BYPASS &&
      cfg !== STRTAB_STE_0_CFG_S1_TRANS
    ) return errno("EIO");
    const eats = Number(fieldGet(v1, 29, 28));
    v1 &= ~STRTAB_STE_1_EATS;
    if (eats !== STRTAB_STE_1_EATS_ABT && eats !== STRTAB_STE_1_EATS_TRANS) return errno("EIO");
    if (cfg === STRTAB_STE_0_CFG_S1_TRANS) enableAts = eats === STRTAB_STE_1_EATS_TRANS;
  }
  const vsmmu = { smmu: parent.smmu, s2Parent: parent, vmid: parent.vmid };
  return register(drv, { name: opts.name, type: "nested", vsmmu, enableAts, ste: [v0, v1] });
}

// Representative io-pgtable-arm values for a 48-bit space; only their presence matters here.
function pgtblCfg(drv: ArmSmmuDriver, d: SmmuDomain, s2fwb: boolean): void {
  const shift = ffs(d.pgsizeBitmap);
  const tg = shift === 16 ? 1 : shift === 14 ? 2 : 0;
  const base = drvDmaAlloc(drv, 1n << BigInt(shift));
  if (d.stage === "s1") {
    d.s1 = {
      ttbr: base,
      tsz: 16,
      tg,
      irgn: 1,
      orgn: 1,
      sh: 3,
      ips: 5,
      mair: 0xf404ff44n,
      hd: false,
    };
  } else if (d.stage === "s2") {
    d.s2 = {
      vttbr: base,
      tsz: 16,
      sl: tg === 0 ? 2 : 1,
      irgn: 1,
      orgn: 1,
      sh: 3,
      tg,
      ps: 5,
      s2fwb,
    };
  }
}

/**
 * Follows arm_smmu_domain_finalise(): binds the domain to `smmu` and takes its tag. ASIDs come
 * from one global allocator (shared with SVA domains, lowest free from 1); VMIDs from the
 * SMMU's own, from 1, since VMID 0 is what stage-1 and bypass STEs run under.
 */
export function domainFinalise(
  drv: ArmSmmuDriver,
  d: SmmuDomain,
  opts: { readonly smmu: SmmuDevice },
): Ret {
  const { smmu } = opts;
  const inst = armSmmuInstance(drv, smmu);
  if (d.nestParent && !smmu.features.nesting) return errno("EOPNOTSUPP");
  if (d.stage === "sva" && !smmu.features.sva) return errno("EOPNOTSUPP");
  if (d.pgsizeBitmap === 0n) d.pgsizeBitmap = inst.pgsizeBitmap;
  if (d.stage === "s2") {
    const max = (1 << smmu.vmidBits) - 1;
    const vmid = d.requestedId ?? idAllocLowest(inst.vmidMap, { lo: 1, hi: max });
    if (vmid < 0) return errno("ENOSPC");
    if (inst.vmidMap.has(vmid) || vmid < 1 || vmid > max) return errno("EBUSY");
    inst.vmidMap.add(vmid);
    d.vmid = vmid;
  } else {
    const max = (1 << smmu.asidBits) - 1;
    const asid = d.requestedId ?? idAllocLowest(drv.asidXa, { lo: 1, hi: max });
    // xa_alloc() reports a full range as -EBUSY.
    if (asid < 0 || drv.asidXa.has(asid) || asid < 1 || asid > max) return errno("EBUSY");
    drv.asidXa.set(asid, d.name);
    d.asid = asid;
  }
  pgtblCfg(drv, d, inst.s2fwb && d.nestParent);
  d.smmu = smmu;
  return 0;
}

/**
 * Follows arm_smmu_domain_free_paging() and arm_smmu_sva_domain_free(): returns the ASID or
 * VMID. An SVA domain is flushed first so that the next owner of the ASID finds it clean
 * (with every device detached the array is empty and nothing is sent).
 */
export function domainFree(drv: ArmSmmuDriver, d: IommuDomain): void {
  drv.domains.delete(d.name);
  if (d.type !== "paging" && d.type !== "sva") return;
  if (d.type === "sva" && d.smmu) domainInv(drv, d);
  if (d.stage === "s2") {
    if (d.vmid && d.smmu) armSmmuInstance(drv, d.smmu).vmidMap.delete(d.vmid);
  } else if (d.smmu) {
    drv.asidXa.delete(d.asid);
  }
}
