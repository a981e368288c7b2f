/**
 * When a range is too big for per-range commands, the driver sends one "nsize" command
 * that drops the whole ASID or VMID instead.
 * Models arm_smmu_inv_size_too_big() and the nsize_opcode choice of
 * arm_smmu_master_build_inv() at mainline 6a01b9f0a5ec.
 * @module
 */

import { ilog2, U64_MAX } from "../bits.ts";
import { type Cmd, makeCmd } from "../hw/smmuv3/cmd.ts";
import type { SmmuDevice } from "../hw/smmuv3/smmu.ts";
import type { TlbiRangeCmd } from "./range.ts";

/**
 * Follows arm_smmu_inv_size_too_big(): size 0 and SIZE_MAX mean "everything"; with RIL
 * any other size fits; without it, a range of at least MAX_TLBI_OPS (= entries per table)
 * granules would be too many commands, a soft-lockup guard borrowed from arm64.
 */
export function invSizeTooBig(smmu: SmmuDevice, size: bigint, granule: bigint): boolean {
  if (size === 0n || size === U64_MAX) return true;
  if (smmu.features.range_inv) return false;
  const maxTlbiOps = 1n << BigInt(ilog2(granule) - 3);
  return size >= maxTlbiOps * granule;
}

/** The whole-tag command matching a range template: NH_VA → NH_ASID, EL2_VA → EL2_ASID,
 * S2_IPA → S12_VMALL (NH_VAA has no nsize form in the driver: NH_ALL of its VMID). */
export function tlbiNsizeCmd(cmd: TlbiRangeCmd): Cmd {
  switch (cmd.op) {
    case "TLBI_NH_VA":
      return makeCmd("TLBI_NH_ASID", { asid: cmd.asid, vmid: cmd.vmid });
    case "TLBI_EL2_VA":
      return makeCmd("TLBI_EL2_ASID", { asid: cmd.asid });
    case "TLBI_S2_IPA":
      return makeCmd("TLBI_S12_VMALL", { vmid: cmd.vmid });
    case "TLBI_NH_VAA":
      return makeCmd("TLBI_NH_ALL", { vmid: cmd.vmid });
  }
}
