/**
 * Range TLBI generation shared by the arm-smmu-v3 driver and the pKVM hypervisor: one
 * address range becomes a few range commands (TG/NUM/SCALE/TTL) on SMMUs with RIL, or one
 * command per granule without.
 * Models arm_smmu_cmdq_batch_add_range() at mainline 6a01b9f0a5ec.
 * @module
 */

import { genmask, ilog2, u64 } from "../bits.ts";
import { warn } from "../events.ts";
import { type CmdFor, CMDQ_TLBI_RANGE_NUM_MAX } from "../hw/smmuv3/cmd.ts";
import { type CmdqBatch, cmdqBatchAdd } from "../hw/smmuv3/cmdq.ts";

/** The command templates a range can be built from (opcode, ASID/VMID and LEAF filled). */
export type TlbiRangeCmd =
  | CmdFor<"TLBI_NH_VA">
  | CmdFor<"TLBI_EL2_VA">
  | CmdFor<"TLBI_S2_IPA">
  | CmdFor<"TLBI_NH_VAA">;

/** Arguments of {@link cmdqBatchAddRange}, named as the kernel names them. */
export interface AddRangeOptions {
  /** Template: opcode, asid/vmid, leaf. Its range fields are ignored. */
  readonly cmd: TlbiRangeCmd;
  /** First address of the range. */
  readonly iova: bigint;
  /** Bytes; must be a non-zero multiple of the leaf page size. */
  readonly size: bigint;
  /** Bytes per TLB entry the caller changed (a leaf page or block size). */
  readonly granule: bigint;
  /** log2 of the domain's smallest page size (12, 14 or 16); only read with RIL. */
  readonly pgsize: number;
}

const VA_MASK = genmask(63, 12);
const IPA_MASK = genmask(51, 12);

// arm_smmu_cmdq_build_cmd() masks the address with the field mask of the opcode.
function tlbiAddr(op: TlbiRangeCmd["op"], iova: bigint): bigint {
  return iova & (op === "TLBI_S2_IPA" ? IPA_MASK : VA_MASK);
}

/**
 * `4 - ((ilog2(granule) - 3) / (tg - 3))`: the level of the entries being invalidated
 * (3 = leaf pages, 2 = one level up, ...), as an integer division like the kernel's.
 */
export function tlbiTtl(granule: bigint, tg: number): number {
  return (4 - Math.trunc((ilog2(granule) - 3) / (tg - 3))) & 3;
}

/**
 * Follows arm_smmu_cmdq_batch_add_range(): adds the TLBI commands covering
 * [iova, iova + size) to `batch`.
 *
 * With RIL, each command takes the lowest 5-bit window of the remaining page count that
 * starts at its lowest set bit (SCALE = that bit, NUM = window - 1), lowest first, so any
 * count needs only a handful of commands. Non-leaf ranges carry no TTL; when the count
 * would leave a single page in the low window, one more page is invalidated so that no
 * command is NUM=0/SCALE=0/TTL=0 (an errata and SVA corner case the driver avoids).
 */
export function cmdqBatchAddRange(batch: CmdqBatch, opts: AddRangeOptions): void {
  const { smmu } = batch;
  const { cmd, granule, pgsize } = opts;
  let iova = opts.iova;
  const size = opts.size;
  if (size === 0n) {
    warn(smmu.cmdq.log, "arm_smmu_cmdq_batch_add_range", "WARN_ON_ONCE(!size)");
    return;
  }
  const end = u64(iova + size);
  const ril = smmu.features.range_inv;
  if (!ril && granule === 0n) {
    warn(smmu.cmdq.log, "arm_smmu_cmdq_batch_add_range", "granule 0 would never advance");
    return;
  }
  let numPages = 0n;
  let invRange = granule;
  let tg = 0;
  let ttl = 0;
  if (ril) {
    numPages = size >> BigInt(pgsize);
    tg = (pgsize - 10) >> 1;
    if (cmd.leaf) ttl = tlbiTtl(granule, pgsize);
    else if ((numPages & BigInt(CMDQ_TLBI_RANGE_NUM_MAX)) === 1n) numPages++;
  }
  const op = cmd.op;
  while (iova < end) {
    let num = 0;
    let scale = 0;
    if (ril) {
      if (numPages === 0n) {
        // size was not a multiple of the page size: the kernel would take __ffs(0).
        warn(
          smmu.cmdq.log,
          "arm_smmu_cmdq_batch_add_range",
          "size is not a multiple of the page size",
        );
        return;
      }
      scale = lowestSetBit(numPages);
      const n = Number((numPages >> BigInt(scale)) & BigInt(CMDQ_TLBI_RANGE_NUM_MAX));
      num = n - 1;
      invRange = BigInt(n) << BigInt(scale + pgsize);
      numPages -= BigInt(n) << BigInt(scale);
    }
    cmdqBatchAdd(batch, {
      ...cmd,
      addr: tlbiAddr(op, iova),
      num,
      scale: scale & 31, // FIELD_PREP(CMDQ_TLBI_0_SCALE): 5 bits
      ttl,
      tg,
    } as TlbiRangeCmd);
    iova = u64(iova + invRange);
    if (iova === 0n) break; // wrapped past the top of the address space
  }
}

function lowestSetBit(x: bigint): number {
  // Page counts are below 2^52: a double holds them exactly.
  if (x < 0x20000000000000n) {
    const n = Number(x);
    const lo = n % 0x100000000;
    if (lo !== 0) return 31 - Math.clz32(lo & -lo);
    const hi = Math.floor(n / 0x100000000);
    return 32 + 31 - Math.clz32(hi & -hi);
  }
  let s = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    s++;
  }
  return s;
}
