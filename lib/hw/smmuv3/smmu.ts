/**
 * One SMMUv3 instance as the driver sees it after probe (`struct arm_smmu_device`): the
 * feature bits read from the ID registers, the driver options, and its command queue.
 * Models arm_smmu_device_hw_probe() / arm_smmu_device_iidr_probe() at mainline 6a01b9f0a5ec.
 * @module
 */

import type { EventLog } from "../../events.ts";
import { type SmmuHw, smmuHwCreate } from "./cmdq_consume.ts";

/** `ARM_SMMU_FEAT_*` bits the invalidation paths read, by their spec names. */
export const SMMU_FEATURES = [
  "range_inv", // IDR3.RIL: range TLBI (TG/NUM/SCALE/TTL)
  "e2h", // EL2-E2H regime: S1 domains use TLBI_EL2_* commands
  "ats", // IDR0.ATS: PCIe ATS, ATC_INV
  "nesting", // S1 + S2 together: nesting parents and vIOMMUs
  "hyp", // IDR0.HYP: TLBI_EL2_ALL at reset
  "ds", // IDR5.DS: 52-bit VA, SCALE up to 39 in vIOMMU validation
  "pri", // page request interface
  "btm", // broadcast TLB maintenance
  "sva", // shared virtual addressing
  "stall", // stall model
  "msi", // IDR0.MSI
] as const;
/** One feature bit. */
export type SmmuFeature = typeof SMMU_FEATURES[number];

/** `ARM_SMMU_OPT_*` options that change what the queue receives. */
export const SMMU_OPTIONS = [
  "cmdq_force_sync", // Arm MMU-700 erratum 2812531: SYNC at least every 63 commands
  "msipoll", // CMD_SYNC completion by MSI write to the SYNC's own slot
  "skip_prefetch", // no PREFETCH_CFG after STE writes
] as const;
/** One driver option. */
export type SmmuOption = typeof SMMU_OPTIONS[number];

/** The command queue: a record of every entry written, in order. */
export interface Cmdq {
  /** Queue name in events and expectations: the SMMU instance name. */
  readonly name: string;
  /** Base DMA address of the queue memory (for MSI-poll SYNC addresses). */
  readonly base: bigint;
  /** log2 of the number of queue entries. */
  readonly shift: number;
  /** Entries written so far (the producer index before wrap). */
  prod: number;
  /** The World's event log, where every written entry is recorded. */
  readonly log: EventLog;
}

/** An SMMU instance. Plain data, so a World holding it can be cloned. */
export interface SmmuDevice {
  /** Instance name, also the name of its queue. */
  readonly name: string;
  /** Feature bits read from the ID registers. */
  readonly features: Readonly<Record<SmmuFeature, boolean>>;
  /** Driver options (errata and completion mode). */
  readonly options: Readonly<Record<SmmuOption, boolean>>;
  /** Stable total order between instances (the kernel compares `smmu` pointers). */
  readonly sortKey: number;
  /** IDR0.ASID16: 8 or 16. */
  readonly asidBits: number;
  /** IDR0.VMID16: 8 or 16. */
  readonly vmidBits: number;
  /** IDR1.SSIDSIZE: 0 means no PASIDs. */
  readonly ssidBits: number;
  /** The main command queue. */
  readonly cmdq: Cmdq;
  /** The hardware behind the queue: caches and the commands waiting for a CMD_SYNC. */
  readonly hw: SmmuHw;
}

/** Options for {@link smmuCreate}. */
export interface SmmuCreateOptions {
  /** Feature bits to set; the rest are clear. */
  readonly features?: readonly SmmuFeature[];
  /** Driver options to set. */
  readonly options?: readonly SmmuOption[];
  /** Position among instances (default 0). */
  readonly sortKey?: number;
  /** Default 16. */
  readonly asidBits?: number;
  /** Default 16. */
  readonly vmidBits?: number;
  /** Default 20. */
  readonly ssidBits?: number;
  /** Queue base address; defaults to a distinct address per sort key. */
  readonly cmdqBase?: bigint;
  /** log2 queue entries; the driver needs more than one batch plus a SYNC (> 64). */
  readonly cmdqShift?: number;
}

/** A probed SMMU instance writing its commands to `log`. */
export function smmuCreate(name: string, log: EventLog, opts: SmmuCreateOptions = {}): SmmuDevice {
  const features = Object.fromEntries(SMMU_FEATURES.map((f) => [f, false])) as Record<
    SmmuFeature,
    boolean
  >;
  for (const f of opts.features ?? []) features[f] = true;
  const options = Object.fromEntries(SMMU_OPTIONS.map((o) => [o, false])) as Record<
    SmmuOption,
    boolean
  >;
  for (const o of opts.options ?? []) options[o] = true;
  const sortKey = opts.sortKey ?? 0;
  return {
    name,
    features,
    options,
    sortKey,
    asidBits: opts.asidBits ?? 16,
    vmidBits: opts.vmidBits ?? 16,
    ssidBits: opts.ssidBits ?? 20,
    cmdq: {
      name,
      base: opts.cmdqBase ?? 0x8000_0000n + (BigInt(sortKey) << 24n),
      shift: opts.cmdqShift ?? 8,
      prod: 0,
      log,
    },
    hw: smmuHwCreate(),
  };
}
