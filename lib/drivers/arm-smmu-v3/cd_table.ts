/**
 * A master's CD table: allocated on first use, linear or two-level (leaf tables of 1024 CDs
 * added on demand), and the sequenced CD writes with their CFGI_CD + SYNC steps. A new leaf
 * table is announced with a non-leaf CFGI_CD, since the SMMU may have cached the invalid
 * level-1 descriptor.
 * Models arm_smmu_alloc_cd_tables(), arm_smmu_get_cd_ptr(), arm_smmu_alloc_cd_ptr(),
 * arm_smmu_sync_cd(), arm_smmu_write_cd_entry() and arm_smmu_clear_cd() of
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline 6a01b9f0a5ec.
 * @module
 */

import { trace, warn } from "../../events.ts";
import { makeCmd } from "../../hw/smmuv3/cmd.ts";
import { cmdqBatchAdd, cmdqBatchInit, cmdqBatchSubmit } from "../../hw/smmuv3/cmdq.ts";
import { IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import { type Cd, CTXDESC_CD_0_V, CTXDESC_L2_ENTRIES, getCdUsed } from "./cd.ts";
import { type ArmSmmuDriver, armSmmuInstance, drvDmaAlloc } from "./driver.ts";
import { type EntryWriteResult, writeEntry } from "./entry_writer.ts";
import type { ArmSmmuMaster } from "./master.ts";
import { NUM_ENTRY_QWORDS, STRTAB_STE_0_S1FMT_64K_L2, STRTAB_STE_0_S1FMT_LINEAR } from "./ste.ts";

/**
 * Follows arm_smmu_alloc_cd_tables(): one CD per possible SSID; two-level when the SMMU
 * supports it and more than one leaf table's worth of CDs is needed.
 */
function allocCdTables(drv: ArmSmmuDriver, master: ArmSmmuMaster): void {
  const t = master.cdTable;
  const inst = armSmmuInstance(drv, master.smmu);
  t.s1cdmax = master.ssidBits;
  const contexts = 1 << t.s1cdmax;
  t.s1fmt = !inst.cd2l || contexts <= CTXDESC_L2_ENTRIES
    ? STRTAB_STE_0_S1FMT_LINEAR
    : STRTAB_STE_0_S1FMT_64K_L2;
  t.cdtabDma = drvDmaAlloc(drv, 0x1000n);
  t.allocated = true;
}

/**
 * Follows arm_smmu_get_cd_ptr(): the CD of `ssid`, or null when the table or its leaf table
 * does not exist yet.
 */
export function getCdPtr(master: ArmSmmuMaster, ssid: number): Cd | null {
  const t = master.cdTable;
  if (!t.allocated) return null;
  if (t.s1fmt !== STRTAB_STE_0_S1FMT_LINEAR && !t.l2.has(Math.floor(ssid / CTXDESC_L2_ENTRIES))) {
    return null;
  }
  let cd = t.cds.get(ssid);
  if (!cd) {
    cd = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
    t.cds.set(ssid, cd);
  }
  return cd;
}

/** Follows arm_smmu_alloc_cd_ptr(): like {@link getCdPtr}, creating what is missing. */
export function allocCdPtr(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly ssid: number },
): Cd {
  const { ssid } = opts;
  const t = master.cdTable;
  if (!t.allocated) allocCdTables(drv, master);
  if (t.s1fmt === STRTAB_STE_0_S1FMT_64K_L2) {
    const idx = Math.floor(ssid / CTXDESC_L2_ENTRIES);
    if (!t.l2.has(idx)) {
      t.l2.add(idx);
      // An invalid level-1 descriptor may be cached: drop it (non-leaf).
      syncCd(master, { ssid, leaf: false });
    }
  }
  return getCdPtr(master, ssid) as Cd;
}

/** Follows arm_smmu_sync_cd(): CFGI_CD of `ssid` for every StreamID, then a SYNC. */
export function syncCd(
  master: ArmSmmuMaster,
  opts: { readonly ssid: number; readonly leaf: boolean },
): void {
  const { ssid, leaf } = opts;
  const batch = cmdqBatchInit(master.smmu);
  for (const sid of master.streams) {
    cmdqBatchAdd(batch, makeCmd("CFGI_CD", { sid, ssid, leaf }));
  }
  cmdqBatchSubmit(batch);
}

/**
 * Follows arm_smmu_write_cd_entry(): counts PASID CDs becoming valid or invalid (the count
 * tells whether PASIDs are in use), then writes the CD in sequenced steps, each followed by a
 * leaf CFGI_CD per StreamID and a SYNC.
 */
export function writeCdEntry(
  master: ArmSmmuMaster,
  cdptr: Cd,
  opts: { readonly ssid: number; readonly target: readonly bigint[] },
): EntryWriteResult {
  const { ssid, target } = opts;
  const targetValid = (target[0] & CTXDESC_CD_0_V) !== 0n;
  const curValid = (cdptr[0] & CTXDESC_CD_0_V) !== 0n;
  if (ssid !== IOMMU_NO_PASID && curValid !== targetValid) {
    master.cdTable.usedSsids += curValid ? -1 : 1;
  }
  const r = writeEntry({ getUsed: getCdUsed, sync: () => syncCd(master, { ssid, leaf: true }) }, {
    entry: cdptr,
    target,
  });
  trace(master.smmu.cmdq.log, "cd_write", {
    master: master.name,
    ssid,
    valid: targetValid,
    update: r.update,
    syncs: r.syncs,
  });
  return r;
}

/** Follows arm_smmu_clear_cd(): writes an all-zero CD for `ssid`, if the table exists. */
export function clearCd(master: ArmSmmuMaster, ssid: number): void {
  if (!master.cdTable.allocated) return;
  const cdptr = getCdPtr(master, ssid);
  if (!cdptr) {
    warn(master.smmu.cmdq.log, "arm_smmu_clear_cd", "WARN_ON: no CD for this SSID");
    return;
  }
  writeCdEntry(master, cdptr, { ssid, target: new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n) });
}
