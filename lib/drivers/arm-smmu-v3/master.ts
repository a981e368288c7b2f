/**
 * Masters: the driver's per-device state. A master has StreamIDs on one SMMU (kept sorted so
 * that what it builds is sorted), maybe PCI ATS and PASIDs, its CD table, and a scratch
 * invalidation array sized at probe time, so that building the entries an attach adds or a
 * detach removes never allocates: 2 entries (an ASID, or a VMID plus the nesting S1 clear),
 * plus one per StreamID for ATS-capable devices.
 * Models `struct arm_smmu_master`, arm_smmu_probe_device(), arm_smmu_insert_master() and
 * arm_smmu_master_build_inv{,s}() of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline
 * 6a01b9f0a5ec. The iommu core's view of the device (its group's domain and PASID domains)
 * is kept here too.
 * @module
 */

import { ffs } from "../../bits.ts";
import { type EventLog, warn } from "../../events.ts";
import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import { IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import type { Cd } from "./cd.ts";
import { CTXDESC_LINEAR_CDMAX } from "./cd.ts";
import type { IommuDomain, SmmuDomain } from "./domain.ts";
import { type ArmSmmuDriver, armSmmuInstance } from "./driver.ts";
import { errno, type ErrnoValue } from "../../errno.ts";
import { type Inv, invMake, type Invs, invsAlloc, type InvType } from "./invs.ts";
import { makeAbortSte } from "./ste.ts";

/** `struct arm_smmu_ctx_desc_cfg`: the master's CD table. */
export interface CdTable {
  /** Allocated on first use (an S1 or PASID attach). */
  allocated: boolean;
  /** `STRTAB_STE_0_S1FMT_*`: linear, or two-level with 1024 CDs per leaf table. */
  s1fmt: number;
  /** log2 of the number of CDs. */
  s1cdmax: number;
  /** DMA address of the (level-1) table. */
  cdtabDma: bigint;
  /** Valid CDs other than CD 0 (PASIDs in use). */
  usedSsids: number;
  /** The installed STE points at this table. */
  inSte: boolean;
  /** Level-1 indexes with a leaf table (two-level format). */
  readonly l2: Set<number>;
  /** The CDs written so far, by SSID (absent = all zero). */
  readonly cds: Map<number, Cd>;
}

/** `struct arm_smmu_master`, plus the iommu core's view of the device. */
export interface ArmSmmuMaster {
  /** Device name. */
  readonly name: string;
  /** The SMMU the device sits behind. */
  readonly smmu: SmmuDevice;
  /** StreamIDs, ascending. */
  readonly streams: readonly number[];
  /** A PCI device. */
  readonly pci: boolean;
  /** `pci_ats_supported()`: the device has an ATS capability. */
  readonly atsCapable: boolean;
  /** `IOMMU_FWSPEC_PCI_RC_ATS`: the root complex supports ATS. */
  readonly rcAts: boolean;
  /** `IOMMU_FWSPEC_PCI_RC_CANWBS`: coherent without cache maintenance. */
  readonly canwbs: boolean;
  /** PASID bits usable (0: no PASIDs). */
  readonly ssidBits: number;
  /** Faults stall the transaction (`dma-can-stall`, or forced). */
  readonly stallEnabled: boolean;
  /** The pre-sized scratch array the attach path builds into. */
  readonly buildInvs: Invs;
  /** PCI ATS is enabled at the device. */
  atsEnabled: boolean;
  /** The installed STE has EATS=TRANS. */
  steAtsEnabled: boolean;
  /** The CD table (PASID address spaces). */
  readonly cdTable: CdTable;
  /** iommu core: the domain of the device's group (its RID); null before the first attach. */
  domain: IommuDomain | null;
  /** iommu core: the domain attached at each PASID. */
  readonly pasids: Map<number, IommuDomain>;
}

/** Options for {@link masterProbe}. */
export interface MasterProbeOptions {
  /** Device name. */
  readonly name: string;
  /** The SMMU the device sits behind. */
  readonly smmu: SmmuDevice;
  /** StreamIDs in firmware order. */
  readonly sids: readonly number[];
  /** Default true. */
  readonly pci?: boolean;
  /** The device has an ATS capability (default false). */
  readonly ats?: boolean;
  /** The root complex supports ATS (default true). */
  readonly rcAts?: boolean;
  /** PASID bits of the device (default 0). */
  readonly pasidBits?: number;
  /** `dma-can-stall` (default false). */
  readonly stall?: boolean;
  /** Default true. */
  readonly canwbs?: boolean;
}

/**
 * Follows arm_smmu_probe_device() and arm_smmu_insert_master(): sorts the StreamIDs, sizes the
 * scratch array, claims the StreamIDs in the SMMU (aliasing another master's is -ENODEV) and
 * gives each a valid abort STE.
 */
export function masterProbe(
  drv: ArmSmmuDriver,
  opts: MasterProbeOptions,
): ArmSmmuMaster | ErrnoValue {
  if (drv.masters.has(opts.name)) throw new RangeError(`master "${opts.name}" already exists`);
  const inst = armSmmuInstance(drv, opts.smmu);
  const pci = opts.pci ?? true;
  const atsCapable = pci && (opts.ats ?? false);
  const streams = [...opts.sids].sort((a, b) => a - b);
  for (const [i, sid] of streams.entries()) {
    const owner = inst.streams.get(sid);
    // A bridged PCI device may list one StreamID twice; another device's is an alias.
    if (owner !== undefined && owner !== opts.name) {
      warn(drv.log, "arm_smmu_insert_master", `aliasing StreamID ${sid} unsupported`);
      for (const s of streams.slice(0, i)) inst.streams.delete(s);
      return errno("ENODEV");
    }
    inst.streams.set(sid, opts.name);
    if (!inst.strtab.has(sid)) inst.strtab.set(sid, makeAbortSte());
  }
  let ssidBits = Math.min(opts.smmu.ssidBits, opts.pasidBits ?? 0);
  if (!inst.cd2l) ssidBits = Math.min(ssidBits, CTXDESC_LINEAR_CDMAX);
  const master: ArmSmmuMaster = {
    name: opts.name,
    smmu: opts.smmu,
    streams,
    pci,
    atsCapable,
    rcAts: opts.rcAts ?? true,
    canwbs: opts.canwbs ?? true,
    ssidBits,
    stallEnabled: (opts.smmu.features.stall && (opts.stall ?? false)) || inst.stallForce,
    // One ASID, or a VMID and its S1 clear; ATS adds one entry per StreamID.
    buildInvs: invsAlloc(atsCapable ? 2 + streams.length : 2),
    atsEnabled: false,
    steAtsEnabled: false,
    cdTable: {
      allocated: false,
      s1fmt: 0,
      s1cdmax: 0,
      cdtabDma: 0n,
      usedSsids: 0,
      inSte: false,
      l2: new Set(),
      cds: new Map(),
    },
    domain: null,
    pasids: new Map(),
  };
  drv.masters.set(master.name, master);
  return master;
}

/**
 * Follows arm_smmu_master_build_inv(): appends one entry to the scratch array, or WARNs and
 * returns null when it is full. S1 entries run with VMID 0 (their STEs do), so only the ASID
 * is recorded.
 */
export function masterBuildInv(
  master: ArmSmmuMaster,
  inv: {
    readonly type: InvType;
    readonly id: number;
    readonly ssid: number;
    readonly pgsize: number;
  },
  opts: { readonly log: EventLog },
): Inv | null {
  const b = master.buildInvs;
  if (b.numInvs >= b.maxInvs) {
    warn(opts.log, "arm_smmu_master_build_inv", "WARN_ON: scratch invalidation array is full");
    return null;
  }
  const isAts = inv.type === "ATS" || inv.type === "ATS_FULL";
  const e = invMake(master.smmu, {
    type: inv.type,
    id: inv.id,
    ssid: isAts ? inv.ssid : IOMMU_NO_PASID,
    pgsize: isAts ? 0 : inv.pgsize,
  });
  b.inv[b.numInvs++] = e;
  return e;
}

/** Arguments of {@link masterBuildInvs}. */
export interface BuildInvsOptions {
  /** ATS is (to be) enabled for the attachment. */
  readonly atsEnabled: boolean;
  /** 0 for the RID, else the PASID. */
  readonly ssid: number;
  /** Where WARNs go. */
  readonly log: EventLog;
}

/**
 * Follows arm_smmu_master_build_invs(): fills the scratch array with what attaching `master`
 * to `domain` adds to its array: the ASID or VMID (with the SMMU's range-TLBI leaf size when
 * it has RIL), the S1 clear of a nesting parent (whose guest ASIDs all change when the parent
 * does), and one ATC entry per StreamID when ATS is on: full ATC flushes for a nesting parent,
 * since the guest's translations are unknown, ranged ones carrying the PASID otherwise. The
 * StreamIDs are sorted, so the result is too. Returns null when it does not fit.
 */
export function masterBuildInvs(
  master: ArmSmmuMaster,
  domain: SmmuDomain,
  opts: BuildInvsOptions,
): Invs | null {
  const nesting = domain.nestParent;
  const log = { log: opts.log };
  master.buildInvs.numInvs = 0;
  const pgsize = master.smmu.features.range_inv ? ffs(domain.pgsizeBitmap) : 0;
  const tag = domain.stage === "s2"
    ? { type: "S2_VMID" as const, id: domain.vmid }
    : { type: "S1_ASID" as const, id: domain.asid };
  if (!masterBuildInv(master, { ...tag, ssid: IOMMU_NO_PASID, pgsize }, log)) return null;
  if (nesting) {
    const clear = { type: "S2_VMID_S1_CLEAR" as const, id: domain.vmid, ssid: 0, pgsize: 0 };
    if (!masterBuildInv(master, clear, log)) return null;
  }
  for (let i = 0; opts.atsEnabled && i < master.streams.length; i++) {
    const type = nesting ? "ATS_FULL" as const : "ATS" as const;
    const ats = { type, id: master.streams[i], ssid: opts.ssid, pgsize: 0 };
    if (!masterBuildInv(master, ats, log)) return null;
  }
  return master.buildInvs;
}
