/**
 * Installing an STE for every StreamID of a master: the sequenced write with a leaf CFGI_STE
 * and SYNC after each step, then a PREFETCH_CFG since the new STE is likely used soon (unless
 * the SMMU has the broken-prefetch erratum). The master remembers whether the installed STE
 * uses its CD table and whether it lets ATS through.
 * Models arm_smmu_write_ste(), arm_smmu_ste_writer_sync_entry() and
 * arm_smmu_install_ste_for_dev() of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline
 * 6a01b9f0a5ec.
 * @module
 */

import { fieldGet } from "../../bits.ts";
import { trace } from "../../events.ts";
import { makeCmd } from "../../hw/smmuv3/cmd.ts";
import { cmdqIssueCmd, cmdqIssueCmdWithSync } from "../../hw/smmuv3/cmdq.ts";
import { type ArmSmmuDriver, armSmmuInstance } from "./driver.ts";
import { type EntryWriteResult, writeEntry } from "./entry_writer.ts";
import type { ArmSmmuMaster } from "./master.ts";
import {
  getSteUpdateSafe,
  getSteUsed,
  type Ste,
  type SteContext,
  steDecode,
  STRTAB_STE_0_CFG_S1_TRANS,
  STRTAB_STE_1_EATS_TRANS,
} from "./ste.ts";

/** The SMMU and master properties the STE builders read, for `master`. */
export function steContext(drv: ArmSmmuDriver, master: ArmSmmuMaster): SteContext {
  const inst = armSmmuInstance(drv, master.smmu);
  return {
    attrTypesOvr: inst.attrTypesOvr,
    stalls: master.smmu.features.stall,
    e2h: master.smmu.features.e2h,
    stallEnabled: master.stallEnabled,
  };
}

/** Follows arm_smmu_write_ste(): one StreamID's STE, then PREFETCH_CFG. */
export function writeSte(
  master: ArmSmmuMaster,
  ste: Ste,
  opts: { readonly sid: number; readonly target: readonly bigint[] },
): EntryWriteResult {
  const { smmu } = master;
  const { sid, target } = opts;
  const r = writeEntry({
    getUsed: getSteUsed,
    getUpdateSafe: getSteUpdateSafe,
    sync: () => cmdqIssueCmdWithSync(smmu, makeCmd("CFGI_STE", { sid, leaf: true })),
  }, { entry: ste, target });
  trace(smmu.cmdq.log, "ste_write", {
    smmu: smmu.name,
    sid,
    config: steDecode(target).config,
    update: r.update,
    syncs: r.syncs,
  });
  if (!smmu.options.skip_prefetch) cmdqIssueCmd(smmu, makeCmd("PREFETCH_CFG", { sid }));
  return r;
}

/**
 * Follows arm_smmu_install_ste_for_dev(): writes `target` for each StreamID (a StreamID listed
 * twice, as bridged PCI devices may, is written once).
 */
export function installSteForDev(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly target: Ste },
): void {
  const { target } = opts;
  const inst = armSmmuInstance(drv, master.smmu);
  master.cdTable.inSte = Number(fieldGet(target[0], 3, 1)) === STRTAB_STE_0_CFG_S1_TRANS;
  master.steAtsEnabled = Number(fieldGet(target[1], 29, 28)) === STRTAB_STE_1_EATS_TRANS;
  master.streams.forEach((sid, i) => {
    if (master.streams.indexOf(sid) < i) return;
    writeSte(master, inst.strtab.get(sid) as Ste, { sid, target });
  });
}
