/**
 * The ARM vSMMU's user cache invalidation (`arm_vsmmu_cache_invalidate`): raw SMMUv3
 * commands from the guest, checked against an opcode whitelist, given the vSMMU's VMID or
 * the physical SID behind a vSID, and issued on the SMMU's main command queue in batches of
 * at most 63 plus a CMD_SYNC.
 *
 * Two forms. With the core-loop series (default): patch 1/5 rejects every bit a command may
 * not carry before it reaches the shared queue, and each call copies one batch into a fixed
 * buffer, converts all of it (one bad command fails the batch, nothing issued) and issues it;
 * the core calls again for the rest. Before it (`"driver-loop"`): the op allocates the whole
 * array, forwards unchecked bits, and has the two bugs the series names (it counts converted
 * but unissued commands on a conversion error; it rejects a zero-length probe).
 *
 * Models drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c at mainline (056daec2925d) and
 * after the series (26564d25cd81, 2d4f03f6610d, from the post-series file text).
 * @module
 */

import { genmask } from "../../bits.ts";
import { trace } from "../../events.ts";
import { type Cmd, type CmdOp, cmdOpcode, decodeCmd, SMMU_OPS } from "../../hw/smmuv3/cmd.ts";
import { CMDQ_BATCH_ENTRIES, cmdqIssueCmdlist } from "../../hw/smmuv3/cmdq.ts";
import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import type { Errno, Rc } from "../../iommufd/errno.ts";
import type { OpContext } from "../../iommufd/invalidate_op.ts";
import { kcallocFails } from "../../iommufd/kmalloc.ts";
import {
  ARM_SMMUV3_INVALIDATE_SIZE,
  armSmmuv3InvalidateDecode,
  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
} from "../../iommufd/uapi.ts";
import { copyStructFromFullUserArray, type UserDataArray } from "../../iommufd/user_data.ts";

/** User commands per issue: a batch leaves one slot for the CMD_SYNC. */
export const VSMMU_BATCH = CMDQ_BATCH_ENTRIES - 1;

// Field masks of arm-smmu-v3.h, on CPU-endian words.
const CMDQ_0_OP = genmask(7, 0);
const CMDQ_0_SSV = 1n << 11n;
const CMDQ_TLBI_0_NUM = genmask(16, 12);
// Six bits in the post-series tree: it builds FIELD_PREP(SCALE, BIT(5)), which only compiles
// when the field is that wide (SCALE values of 32 and up need IDR5.DS).
const CMDQ_TLBI_0_SCALE = genmask(25, 20);
const CMDQ_TLBI_0_SCALE_TOP = 1n << 25n;
const CMDQ_TLBI_0_VMID = genmask(47, 32);
const CMDQ_TLBI_0_ASID_SHIFT = 48n;
const CMDQ_TLBI_1_LEAF = 1n;
const CMDQ_TLBI_1_TTL = genmask(9, 8);
const CMDQ_TLBI_1_TG = genmask(11, 10);
const CMDQ_TLBI_1_VA_MASK = genmask(63, 12);
const CMDQ_ATC_0_GLOBAL = 1n << 9n;
const CMDQ_ATC_0_SSID = genmask(31, 12);
const CMDQ_ATC_1_SIZE = genmask(5, 0);
const CMDQ_ATC_1_ADDR_MASK = genmask(63, 12);
const CMDQ_CFGI_0_SSID = genmask(31, 12);
// Same bits as CMDQ_ATC_0_SID: the vSID of ATC_INV, CFGI_CD and CFGI_CD_ALL.
const CMDQ_CFGI_0_SID = genmask(63, 32);
const CMDQ_CFGI_1_LEAF = 1n;
const ATC_INV_SIZE_ALL = 52n;

const op = (name: CmdOp) => BigInt(cmdOpcode(name));
const OP_NSNH_ALL = op("TLBI_NSNH_ALL");
const OP_NH_ALL = op("TLBI_NH_ALL");
const OP_NH_ASID = op("TLBI_NH_ASID");
const OP_NH_VA = op("TLBI_NH_VA");
const OP_NH_VAA = op("TLBI_NH_VAA");
const OP_ATC_INV = op("ATC_INV");
const OP_CFGI_CD = op("CFGI_CD");
const OP_CFGI_CD_ALL = op("CFGI_CD_ALL");

/** The vSMMU as its op sees it: a narrow view of `struct arm_vsmmu`. */
export interface ArmVsmmu {
  /** The physical SMMU (features, ASID/SSID sizes, main queue). */
  readonly smmu: SmmuDevice;
  /** `vsmmu->vmid`: the S2 parent's VMID, forced into every TLBI. */
  readonly vmid: number;
  /** The vDEVICE table: virtual ID (vSID) → physical SID (`master->streams[0].id`). */
  readonly vdevs: ReadonlyMap<bigint, number>;
}

/** A command-queue issue that fails, e.g. a CMD_SYNC timeout. */
export interface CmdqFault {
  /** 0-based index of the failing issue among this ioctl's issues. */
  readonly issue: number;
  /** What the issue returns. */
  readonly errno: Errno;
}

/** What the op needs per call. */
export interface VsmmuOpContext extends OpContext {
  /** An issue that fails after its commands reached the queue. */
  readonly cmdqFault?: CmdqFault;
  /**
   * Issues made so far in this ioctl, counted across its op calls (the core passes one
   * counter per ioctl); without it each call counts from 0.
   */
  readonly issues?: { n: number };
}

/** Follows arm_vsmmu_validate_range(): reserved NUM/SCALE/TTL/TG combinations are EIO. */
export function vsmmuValidateRange(smmu: SmmuDevice, w: readonly [bigint, bigint]): Rc {
  const range = (w[0] & (CMDQ_TLBI_0_NUM | CMDQ_TLBI_0_SCALE)) !== 0n;
  const ttl = (w[1] & CMDQ_TLBI_1_TTL) >> 8n;
  const tg = (w[1] & CMDQ_TLBI_1_TG) >> 10n;
  // With TG 0 (no range) NUM, SCALE and TTL are RES0.
  if (tg === 0n) return range || ttl !== 0n ? "EIO" : 0;
  // A 16 KiB granule with TTL 1 needs IDR5.DS.
  if (tg === 2n && ttl === 1n && !smmu.features.ds) return "EIO";
  // NUM 0, SCALE 0 and TTL 0 together are reserved.
  if (!range && ttl === 0n) return "EIO";
  return 0;
}

// The bits each whitelisted opcode may carry, as the validator collects them.
function allowedBits(smmu: SmmuDevice, w: readonly [bigint, bigint]): [bigint, bigint] | Errno {
  const a: [bigint, bigint] = [CMDQ_0_OP, 0n];
  // An SMMU with 8-bit ASIDs treats the upper ASID bits as RES0.
  const asid = genmask(smmu.asidBits - 1, 0) << CMDQ_TLBI_0_ASID_SHIFT;
  switch (w[0] & CMDQ_0_OP) {
    case OP_NSNH_ALL:
      return a;
    case OP_NH_VA:
    case OP_NH_VAA:
      if ((w[0] & CMDQ_0_OP) === OP_NH_VA) a[0] |= asid;
      if (smmu.features.range_inv) {
        if (vsmmuValidateRange(smmu, w) !== 0) return "EIO";
        a[0] |= CMDQ_TLBI_0_NUM | CMDQ_TLBI_0_SCALE;
        a[1] |= CMDQ_TLBI_1_TG | CMDQ_TLBI_1_TTL;
        if (!smmu.features.ds) a[0] &= ~CMDQ_TLBI_0_SCALE_TOP;
      }
      a[0] |= CMDQ_TLBI_0_VMID;
      a[1] |= CMDQ_TLBI_1_LEAF | CMDQ_TLBI_1_VA_MASK;
      return a;
    case OP_NH_ASID:
    case OP_NH_ALL:
      if ((w[0] & CMDQ_0_OP) === OP_NH_ASID) a[0] |= asid;
      a[0] |= CMDQ_TLBI_0_VMID;
      return a;
    case OP_ATC_INV:
      if (!smmu.features.ats) return "EIO";
      // A size above 52 (everything) may raise CERROR_ILL.
      if ((w[1] & CMDQ_ATC_1_SIZE) > ATC_INV_SIZE_ALL) return "EIO";
      // SSID and Global are ignored (not RES0) without SSV: no cross-check needed.
      if (smmu.ssidBits !== 0) a[0] |= CMDQ_0_SSV | CMDQ_ATC_0_SSID | CMDQ_ATC_0_GLOBAL;
      a[0] |= CMDQ_CFGI_0_SID;
      a[1] |= CMDQ_ATC_1_SIZE | CMDQ_ATC_1_ADDR_MASK;
      return a;
    case OP_CFGI_CD:
    case OP_CFGI_CD_ALL:
      // CFGI_CD never takes SSV; its SSID needs substream support.
      if ((w[0] & CMDQ_0_OP) === OP_CFGI_CD) {
        if (smmu.ssidBits !== 0) a[0] |= CMDQ_CFGI_0_SSID;
        a[1] |= CMDQ_CFGI_1_LEAF;
      }
      a[0] |= CMDQ_CFGI_0_SID;
      return a;
    default:
      return "EIO";
  }
}

/**
 * Follows arm_vsmmu_validate_user_cmd() (patch 1/5): any bit outside what the opcode may
 * carry on this SMMU is EIO, so a guest cannot stop the shared queue for every device with
 * a CERROR_ILL. Out-of-range address or ID values are left alone: the architecture confines
 * their effect to the guest.
 */
export function vsmmuValidateUserCmd(smmu: SmmuDevice, w: readonly [bigint, bigint]): Rc {
  const a = allowedBits(smmu, w);
  if (typeof a === "string") return a;
  return (w[0] & ~a[0]) !== 0n || (w[1] & ~a[1]) !== 0n ? "EIO" : 0;
}

/**
 * Follows arm_vsmmu_convert_user_cmd(): rewrites a CPU-endian command in place. NSNH_ALL
 * becomes NH_ALL of the vSMMU's VMID (the guest's "everything" is only its own); the NH_*
 * TLBIs get that VMID; ATC_INV / CFGI_CD / CFGI_CD_ALL get the physical SID of their vSID
 * (EIO when no vDEVICE has it); any other opcode is EIO. After the series the command is
 * validated first (`"core-loop"`); before it, other bits pass through untouched.
 */
export function vsmmuConvertUserCmd(vsmmu: ArmVsmmu, w: [bigint, bigint], ctx: OpContext): Rc {
  if (ctx.variant === "core-loop") {
    const rc = vsmmuValidateUserCmd(vsmmu.smmu, w);
    if (rc !== 0) return rc;
  }
  const vmid = BigInt(vsmmu.vmid) << 32n;
  switch (w[0] & CMDQ_0_OP) {
    case OP_NSNH_ALL:
      w[0] = OP_NH_ALL | (vmid & CMDQ_TLBI_0_VMID);
      w[1] = 0n;
      return 0;
    case OP_NH_VA:
    case OP_NH_VAA:
    case OP_NH_ALL:
    case OP_NH_ASID:
      w[0] = (w[0] & ~CMDQ_TLBI_0_VMID) | (vmid & CMDQ_TLBI_0_VMID);
      return 0;
    case OP_ATC_INV:
    case OP_CFGI_CD:
    case OP_CFGI_CD_ALL: {
      const sid = vsmmuVsidToSid(vsmmu, Number(w[0] >> 32n));
      if (sid === undefined) return "EIO";
      w[0] = (w[0] & ~CMDQ_CFGI_0_SID) | ((BigInt(sid) << 32n) & CMDQ_CFGI_0_SID);
      return 0;
    }
    default:
      return "EIO";
  }
}

/** Follows arm_vsmmu_vsid_to_sid(): the physical SID of the vDEVICE with this virtual ID. */
export function vsmmuVsidToSid(vsmmu: ArmVsmmu, vsid: number): number | undefined {
  return vsmmu.vdevs.get(BigInt(vsid));
}

// The bits the command codec has a field for, per opcode (plus the opcode byte).
const CODEC_BITS = new Map<number, { op: CmdOp; mask: [bigint, bigint] }>();
for (const [name, spec] of Object.entries(SMMU_OPS)) {
  const mask: [bigint, bigint] = [CMDQ_0_OP, 0n];
  for (const f of Object.values(spec.fields)) mask[f.word] |= genmask(f.hi, f.lo);
  CODEC_BITS.set(spec.code, { op: name as CmdOp, mask });
}

/**
 * A converted command as a queue entry. Words can hold bits no codec field describes
 * (pre-series RES0 bits the guest set, or SCALE bit 25 with DS): the queue receives the
 * command without them, and a `vsmmu_raw_bits` trace records the exact words and those bits.
 */
export function vsmmuCmdOf(smmu: SmmuDevice, w: readonly [bigint, bigint]): Cmd {
  const known = CODEC_BITS.get(Number(w[0] & CMDQ_0_OP));
  if (!known) throw new RangeError(`Cannot queue opcode ${w[0] & CMDQ_0_OP}: not an SMMUv3 op`);
  const stray0 = w[0] & ~known.mask[0];
  const stray1 = w[1] & ~known.mask[1];
  if (stray0 !== 0n || stray1 !== 0n) {
    trace(smmu.cmdq.log, "vsmmu_raw_bits", {
      queue: smmu.name,
      op: known.op,
      w0: w[0],
      w1: w[1],
      stray0,
      stray1,
    });
  }
  return decodeCmd([w[0] & known.mask[0], w[1] & known.mask[1]]);
}

// Follows arm_smmu_cmdq_issue_cmdlist(..., sync = true) as the vSMMU calls it, with the
// optional injected failure (the commands and the SYNC still reach the queue).
function vsmmuIssue(vsmmu: ArmVsmmu, cmds: readonly Cmd[], ctx: VsmmuOpContext): Rc {
  cmdqIssueCmdlist(vsmmu.smmu, cmds, { sync: true });
  const issues = ctx.issues ?? { n: 0 };
  const n = issues.n++;
  return ctx.cmdqFault?.issue === n ? ctx.cmdqFault.errno : 0;
}

function userCmds(array: UserDataArray, ctx: OpContext): [bigint, bigint][] | Errno {
  const raw = copyStructFromFullUserArray(ctx, array, {
    dataType: IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
    ksize: ARM_SMMUV3_INVALIDATE_SIZE,
  });
  return typeof raw === "string" ? raw : raw.map(armSmmuv3InvalidateDecode);
}

/**
 * Follows arm_vsmmu_cache_invalidate() with the series: wrong type EINVAL; a zero-length
 * array is a successful probe; otherwise one batch of up to 63 commands is copied, validated
 * and converted as a whole (the first bad command fails the call with nothing issued and
 * `entry_num` 0), then issued with a CMD_SYNC; `entry_num` is the batch size only when the
 * issue succeeded. `ctx.variant === "driver-loop"` runs the pre-series op.
 */
export function vsmmuCacheInvalidate(
  vsmmu: ArmVsmmu,
  array: UserDataArray,
  ctx: VsmmuOpContext,
): Rc {
  if (ctx.variant === "driver-loop") return vsmmuCacheInvalidateDriverLoop(vsmmu, array, ctx);
  if (array.type !== IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3) {
    array.entryNum = 0;
    return "EINVAL";
  }
  if (array.entryNum === 0) return 0;
  const batch = { ...array, entryNum: Math.min(array.entryNum, VSMMU_BATCH) };
  array.entryNum = 0;
  const words = userCmds(batch, ctx);
  if (typeof words === "string") return words;
  for (const w of words) {
    const rc = vsmmuConvertUserCmd(vsmmu, w, ctx);
    if (rc !== 0) return rc;
  }
  const rc = vsmmuIssue(vsmmu, words.map((w) => vsmmuCmdOf(vsmmu.smmu, w)), ctx);
  if (rc === 0) array.entryNum = batch.entryNum;
  return rc;
}

/**
 * Follows arm_vsmmu_cache_invalidate() before the series: the whole array is allocated
 * (ENOMEM past `KMALLOC_MAX_SIZE`, leaving `entry_num` untouched) and copied (a zero-length
 * array is EINVAL here: bug 2), then converted command by command and issued every 63
 * commands and at the end. A conversion error stops at once and reports the index reached,
 * counting converted commands that were never issued (bug 1); an issue error reports one
 * command less than the index reached.
 */
export function vsmmuCacheInvalidateDriverLoop(
  vsmmu: ArmVsmmu,
  array: UserDataArray,
  ctx: VsmmuOpContext,
): Rc {
  if (kcallocFails(array.entryNum, ARM_SMMUV3_INVALIDATE_SIZE)) return "ENOMEM";
  const words = userCmds(array, ctx);
  if (typeof words === "string") {
    array.entryNum = 0;
    return words;
  }
  const cmds: Cmd[] = [];
  let cur = 0;
  let last = 0;
  let rc: Rc = 0;
  while (cur !== words.length) {
    rc = vsmmuConvertUserCmd(vsmmu, words[cur], ctx);
    if (rc !== 0) break;
    cmds.push(vsmmuCmdOf(vsmmu.smmu, words[cur]));
    cur++;
    if (cur !== words.length && cur - last !== VSMMU_BATCH) continue;
    rc = vsmmuIssue(vsmmu, cmds.slice(last, cur), ctx);
    if (rc !== 0) {
      cur--;
      break;
    }
    last = cur;
  }
  array.entryNum = cur;
  return rc;
}
