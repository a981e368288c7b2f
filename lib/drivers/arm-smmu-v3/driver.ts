/**
 * Driver-global state of the arm-smmu-v3 model: the variant being modelled, the World's event
 * log, the global ASID allocator shared by S1 and SVA domains, and per SMMU instance the VMID
 * allocator, the stream table and the driver-side feature bits the invalidation paths read.
 * Models the file-scope state of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
 * (`arm_smmu_asid_xa`, `smmu->vmid_map`, `smmu->strtab_cfg`, `smmu->streams`) at mainline
 * 6a01b9f0a5ec.
 * @module
 */

import type { EventLog } from "../../events.ts";
import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import type { IommuDomain, StaticDomain } from "./domain.ts";
import type { ArmSmmuMaster } from "./master.ts";
import type { Ste } from "./ste.ts";

/**
 * What the model behaves like: mainline; the v9 series as posted (no PASID in the comparator,
 * unref with a tag-flush callback, purge without has_ats, the `continue` that never advances);
 * or mainline with domains allowed to span several SMMUs (the array supports it, mainline
 * refuses the attach with -EINVAL).
 */
export type ArmSmmuVariant = "mainline" | "v9" | "multi-smmu";

/**
 * Fault injection: bugs the model can be told to have, to show what the stale-translation
 * check catches. Not kernel behaviour. `detach_no_tag_flush`: when an ASID or VMID loses its
 * last user, the IOTLB tag flush of arm_smmu_install_old_domain_invs() is skipped.
 * `iotlb_sync_no_tlbi`: arm_smmu_iotlb_sync() sends the ATC invalidations but no TLBI.
 */
export const ARM_SMMU_INJECT = ["detach_no_tag_flush", "iotlb_sync_no_tlbi"] as const;
/** One injected fault. */
export type ArmSmmuInject = typeof ARM_SMMU_INJECT[number];

/** Per-instance driver state not held by {@link SmmuDevice}. */
export interface ArmSmmuInstance {
  /** The probed instance (features, options, command queue). */
  readonly smmu: SmmuDevice;
  /** `ARM_SMMU_FEAT_ATTR_TYPES_OVR`: bypass STEs pass the incoming shareability. */
  readonly attrTypesOvr: boolean;
  /** `ARM_SMMU_FEAT_2_LVL_CDTAB`: CD tables of more than 1024 entries are two-level. */
  readonly cd2l: boolean;
  /** `ARM_SMMU_FEAT_S2FWB`: nesting parents use stage-2 forced write-back. */
  readonly s2fwb: boolean;
  /** `ARM_SMMU_FEAT_STALL_FORCE`. */
  readonly stallForce: boolean;
  /** `smmu->pgsize_bitmap` from IDR5 (page and block sizes). */
  readonly pgsizeBitmap: bigint;
  /** `smmu->vmid_map`: VMIDs in use on this instance. */
  readonly vmidMap: Set<number>;
  /** The stream table: STE of each StreamID a master uses. */
  readonly strtab: Map<number, Ste>;
  /** `smmu->streams`: owner master of each StreamID. */
  readonly streams: Map<number, string>;
}

/** All driver state of one World. Plain data: `structuredClone` copies it whole. */
export interface ArmSmmuDriver {
  /** The behaviour being modelled. */
  readonly variant: ArmSmmuVariant;
  /** Commands, WARNs and traces of every model of the World. */
  readonly log: EventLog;
  /** `arm_smmu_asid_xa`: ASID → name of the domain holding it (global, all SMMUs). */
  readonly asidXa: Map<number, string>;
  /** Instances by SMMU name. */
  readonly instances: Map<string, ArmSmmuInstance>;
  /** Probed masters by name. */
  readonly masters: Map<string, ArmSmmuMaster>;
  /** Allocated domains by name. */
  readonly domains: Map<string, IommuDomain>;
  /** `arm_smmu_identity_domain`, shared by every master. */
  readonly identityDomain: StaticDomain;
  /** `arm_smmu_blocked_domain`, shared by every master. */
  readonly blockedDomain: StaticDomain;
  /** Next fake DMA address for CD tables and page tables. */
  nextDma: bigint;
  /** Fault injection: the next `nomem` array allocations fail. */
  nomem: number;
  /** Fault injection: bugs the model has on purpose (none by default). */
  readonly inject?: readonly ArmSmmuInject[];
}

/** Options for {@link armSmmuDriverCreate}. */
export interface ArmSmmuDriverOptions {
  /** Default `"mainline"`. */
  readonly variant?: ArmSmmuVariant;
  /** Injected faults (default none). */
  readonly inject?: readonly ArmSmmuInject[];
}

/** A driver with no SMMU, master or domain yet, writing to `log`. */
export function armSmmuDriverCreate(
  log: EventLog,
  opts: ArmSmmuDriverOptions = {},
): ArmSmmuDriver {
  return {
    variant: opts.variant ?? "mainline",
    log,
    asidXa: new Map(),
    instances: new Map(),
    masters: new Map(),
    domains: new Map(),
    identityDomain: { name: "identity", type: "identity" },
    blockedDomain: { name: "blocked", type: "blocked" },
    nextDma: 0x8_0000_0000n,
    nomem: 0,
    ...(opts.inject?.length ? { inject: [...opts.inject] } : {}),
  };
}

/** Options for {@link armSmmuDeviceAdd}: the feature bits {@link SmmuDevice} does not hold. */
export interface ArmSmmuInstanceOptions {
  /** Default false. */
  readonly attrTypesOvr?: boolean;
  /** Default true. */
  readonly cd2l?: boolean;
  /** Default false. */
  readonly s2fwb?: boolean;
  /** Default false. */
  readonly stallForce?: boolean;
  /** Default 4K | 2M | 1G. */
  readonly pgsizeBitmap?: bigint;
}

/** Follows arm_smmu_device_probe(): registers a probed instance with the driver. */
export function armSmmuDeviceAdd(
  drv: ArmSmmuDriver,
  smmu: SmmuDevice,
  opts: ArmSmmuInstanceOptions = {},
): ArmSmmuInstance {
  if (drv.instances.has(smmu.name)) throw new RangeError(`SMMU "${smmu.name}" already added`);
  const inst: ArmSmmuInstance = {
    smmu,
    attrTypesOvr: opts.attrTypesOvr ?? false,
    cd2l: opts.cd2l ?? true,
    s2fwb: opts.s2fwb ?? false,
    stallForce: opts.stallForce ?? false,
    pgsizeBitmap: opts.pgsizeBitmap ?? 0x4020_1000n,
    vmidMap: new Set(),
    strtab: new Map(),
    streams: new Map(),
  };
  drv.instances.set(smmu.name, inst);
  return inst;
}

/** The instance state of `smmu`; a TypeError if it was never added. */
export function armSmmuInstance(drv: ArmSmmuDriver, smmu: SmmuDevice): ArmSmmuInstance {
  const inst = drv.instances.get(smmu.name);
  if (!inst) throw new TypeError(`SMMU "${smmu.name}" was not added to the driver`);
  return inst;
}

/** Whether fault `f` is injected. */
export function drvInjects(drv: Pick<ArmSmmuDriver, "inject">, f: ArmSmmuInject): boolean {
  return drv.inject?.includes(f) ?? false;
}

/** A fake, `size`-aligned DMA address for a table the driver allocates. */
export function drvDmaAlloc(drv: ArmSmmuDriver, size: bigint): bigint {
  const addr = (drv.nextDma + size - 1n) & ~(size - 1n);
  drv.nextDma = addr + size;
  return addr;
}

/** Consumes one injected allocation failure, if any is pending. */
export function drvAllocFails(drv: ArmSmmuDriver): boolean {
  if (drv.nomem <= 0) return false;
  drv.nomem--;
  return true;
}

/** The lowest id in `[lo, hi]` not in `used`, or -1: how xa_alloc() and ida_alloc_range() pick. */
export function idAllocLowest(
  used: ReadonlySet<number> | ReadonlyMap<number, unknown>,
  range: { readonly lo: number; readonly hi: number },
): number {
  const { lo, hi } = range;
  for (let id = lo; id <= hi; id++) if (!used.has(id)) return id;
  return -1;
}
