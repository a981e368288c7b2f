/**
 * One VT-d remapping unit (DRHD) as the driver sees it after probe (`struct intel_iommu`):
 * the capability bits the invalidation paths read from CAP/ECAP, the translation-enable
 * state, its invalidation queue and its domain-id allocator.
 * Models the `cap_*` / `ecap_*` accessors of drivers/iommu/intel/iommu.h, `sm_supported()`
 * / `pasid_supported()`, and `iommu->domain_ida` at mainline (v7.1 queue, April 2026).
 * @module
 */

import type { EventLog } from "../../events.ts";
import { type VtdHw, vtdHwCreate } from "./qi_consume.ts";

/** Capability bits by the kernel accessor that reads them (without `cap_` / `ecap_`). */
export const VTD_CAPS = [
  "psi", // CAP.PSI (bit 39, cap_pgsel_inv): page-selective IOTLB invalidation
  "caching_mode", // CAP.CM (bit 7): non-present entries may be cached (virtual IOMMUs)
  "read_drain", // CAP.DRD (bit 55): DR in IOTLB descriptors
  "write_drain", // CAP.DWD (bit 54): DW in IOTLB descriptors
  "rwbf", // CAP.RWBF (bit 4): write-buffer flushing required
  "qis", // ECAP.QI (bit 1): queued invalidation
  "dev_iotlb", // ECAP.DT (bit 2): device-TLBs (ATS)
  "smts", // ECAP.SMTS (bit 43): scalable mode
  "pasid", // ECAP.PASID (bit 40)
  "flts", // ECAP.FLTS (bit 47): first-stage translation
  "slts", // ECAP.SLTS (bit 46): second-stage translation
  "nest", // ECAP.NEST (bit 26): nested translation
  "dit", // ECAP.DIT (bit 41): device-TLB invalidation throttling (pfsid in descriptors)
] as const;
/** One capability bit. */
export type VtdCap = typeof VTD_CAPS[number];

/** A modern scalable-mode unit: everything but caching mode, RWBF and DIT. */
export const VTD_DEFAULT_CAPS: readonly VtdCap[] = [
  "psi",
  "read_drain",
  "write_drain",
  "qis",
  "dev_iotlb",
  "smts",
  "pasid",
  "flts",
  "slts",
  "nest",
];

/** `IDA_START_DID`: DID 0 tags caching-mode faults, DID 1 is `FLPT_DEFAULT_DID`. */
export const IDA_START_DID = 2;
/** `FLPT_DEFAULT_DID`: the DID of SVA and pass-through PASID entries. */
export const FLPT_DEFAULT_DID = 1;

/** `struct q_inval`, reduced to what decides the wait descriptor's status address. */
export interface QInval {
  /** `free_head`: the slot the next descriptor goes to. */
  freeHead: number;
  /** Physical address of `desc_status[0]` (an int array: 4 bytes per slot). */
  readonly statusBase: bigint;
}

/** A remapping unit. Plain data, so a World holding it can be cloned. */
export interface VtdIommu {
  /** `iommu->name` (`dmar0`, ...), also the name of its queue. */
  readonly name: string;
  /** `iommu->seq_id`: index in every domain's `iommu_array`. */
  readonly seqId: number;
  /** Capability bits. */
  readonly caps: Readonly<Record<VtdCap, boolean>>;
  /** CAP.MAMV (bits 53:48): the largest address mask a PSI may use. */
  readonly mamv: number;
  /** `cap_ndoms()`: number of domain ids. */
  readonly ndoms: number;
  /** `iommu->gcmd & DMA_GCMD_TE`: translation enabled. */
  translationEnabled: boolean;
  /** The invalidation queue, or null when the unit has no QI (register-based flushes). */
  readonly qi: QInval | null;
  /** `iommu->domain_ida`: domain ids in use. */
  readonly didsInUse: Set<number>;
  /** The World's event log, where every queue entry is recorded. */
  readonly log: EventLog;
  /** The hardware behind the queue: its caches and the descriptors waiting for a wait. */
  readonly hw: VtdHw;
}

/** Options for {@link vtdIommuCreate}. */
export interface VtdIommuCreateOptions {
  /** Capability bits to set (default {@link VTD_DEFAULT_CAPS}); the rest are clear. */
  readonly caps?: readonly VtdCap[];
  /** CAP.MAMV (default 18). */
  readonly mamv?: number;
  /** Number of domain ids (default 65536, CAP.ND = 6). */
  readonly ndoms?: number;
  /** `seq_id` (default 0). */
  readonly seqId?: number;
  /** Translation enabled (default true). */
  readonly translationEnabled?: boolean;
  /** Physical address of the queue's status array (default distinct per `seqId`). */
  readonly statusBase?: bigint;
}

/** A probed remapping unit writing its descriptors to `log`. */
export function vtdIommuCreate(
  name: string,
  log: EventLog,
  opts: VtdIommuCreateOptions = {},
): VtdIommu {
  const caps = Object.fromEntries(VTD_CAPS.map((c) => [c, false])) as Record<VtdCap, boolean>;
  for (const c of opts.caps ?? VTD_DEFAULT_CAPS) caps[c] = true;
  const mamv = opts.mamv ?? 18;
  if (!Number.isInteger(mamv) || mamv < 0 || mamv > 63) {
    throw new RangeError(`Cannot create ${name}: mamv ${mamv} does not fit in 6 bits`);
  }
  const seqId = opts.seqId ?? 0;
  return {
    name,
    seqId,
    caps,
    mamv,
    ndoms: opts.ndoms ?? 65536,
    translationEnabled: opts.translationEnabled ?? true,
    qi: caps.qis
      ? { freeHead: 0, statusBase: opts.statusBase ?? 0x7f00_0000n + (BigInt(seqId) << 16n) }
      : null,
    didsInUse: new Set(),
    log,
    hw: vtdHwCreate({ scalable: caps.smts }),
  };
}

/**
 * `sm_supported()`: the unit runs in scalable mode. The model takes scalable mode as
 * enabled (`intel_iommu=sm_on`) wherever the unit reports it.
 */
export function smSupported(iommu: VtdIommu): boolean {
  return iommu.caps.smts;
}

/** `pasid_supported()`: scalable mode with PASID support. */
export function pasidSupported(iommu: VtdIommu): boolean {
  return smSupported(iommu) && iommu.caps.pasid;
}

/** `nested_supported()`: scalable mode with nested translation. */
export function nestedSupported(iommu: VtdIommu): boolean {
  return smSupported(iommu) && iommu.caps.nest;
}
