/**
 * The command queue as the driver fills it: batches of up to 64 commands, CMD_SYNC on
 * submit, the MMU-700 force-sync rule, and single-command issue with or without SYNC.
 * Every entry lands in the World's event log tagged with the queue name.
 * Models arm_smmu_cmdq_issue_cmdlist() and the arm_smmu_cmdq_batch_*() helpers at
 * mainline 6a01b9f0a5ec.
 * @module
 */

import { warn } from "../../events.ts";
import { type Cmd, CMDQ_SYNC_0_CS_IRQ, makeCmd } from "./cmd.ts";
import { cmdqConsume } from "./cmdq_consume.ts";
import type { SmmuDevice } from "./smmu.ts";

/** `CMDQ_BATCH_ENTRIES` = `BITS_PER_LONG` on arm64. */
export const CMDQ_BATCH_ENTRIES = 64;
/** Size of one queue entry in bytes (`CMDQ_ENT_DWORDS << 3`). */
export const CMDQ_ENT_SZ = 16;

/** `struct arm_smmu_cmdq_batch`: commands gathered for one queue. */
export interface CmdqBatch {
  /** The SMMU whose main queue receives the batch. */
  readonly smmu: SmmuDevice;
  /** Slots; only the first `num` are queued. */
  readonly cmds: Cmd[];
  /** Commands gathered and not yet issued. */
  num: number;
}

// arm_smmu_cmdq_build_cmd() has no case for these: they are only ever forwarded raw
// (vIOMMU passthrough), so batch_add drops them with "ignoring unknown CMDQ opcode".
const NOT_BUILT: ReadonlySet<string> = new Set(["TLBI_NH_VAA"]);

const SYNC_SEV: Cmd = Object.freeze(makeCmd("CMD_SYNC"));

// Follows arm_smmu_cmdq_build_sync_cmd(): MSI polling points the SYNC at its own slot.
function syncCmd(smmu: SmmuDevice): Cmd {
  if (!smmu.options.msipoll) return SYNC_SEV;
  const q = smmu.cmdq;
  const slot = BigInt(q.prod & ((1 << q.shift) - 1));
  return makeCmd("CMD_SYNC", {
    cs: CMDQ_SYNC_0_CS_IRQ,
    msiaddr: q.base + slot * BigInt(CMDQ_ENT_SZ),
  });
}

function push(smmu: SmmuDevice, cmd: Cmd): void {
  const q = smmu.cmdq;
  q.log.events.push({ kind: "cmd", queue: q.name, family: "smmuv3", cmd });
  q.prod++;
  // The SMMU consumes what the driver wrote (in the model, at once and in order).
  cmdqConsume(smmu.hw, cmd);
}

/**
 * Follows arm_smmu_cmdq_issue_cmdlist(): writes `n` commands, then a CMD_SYNC when `sync`
 * (and waits for it; completion is immediate in the model).
 */
export function cmdqIssueCmdlist(
  smmu: SmmuDevice,
  cmds: readonly Cmd[],
  opts: { readonly n?: number; readonly sync: boolean },
): number {
  const n = opts.n ?? cmds.length;
  for (let i = 0; i < n; i++) push(smmu, cmds[i]);
  if (opts.sync) push(smmu, syncCmd(smmu));
  return 0;
}

/** Follows arm_smmu_cmdq_batch_init(): an empty batch on the SMMU's main queue. */
export function cmdqBatchInit(smmu: SmmuDevice): CmdqBatch {
  return { smmu, cmds: [], num: 0 };
}

/**
 * Follows arm_smmu_cmdq_batch_add(): with the force-sync option a batch never holds more
 * than 63 commands without a SYNC; a full batch of 64 is pushed without one.
 */
export function cmdqBatchAdd(batch: CmdqBatch, cmd: Cmd): void {
  const { smmu } = batch;
  if (batch.num === CMDQ_BATCH_ENTRIES - 1 && smmu.options.cmdq_force_sync) {
    cmdqIssueCmdlist(smmu, batch.cmds, { n: batch.num, sync: true });
    batch.num = 0;
  }
  if (batch.num === CMDQ_BATCH_ENTRIES) {
    cmdqIssueCmdlist(smmu, batch.cmds, { n: batch.num, sync: false });
    batch.num = 0;
  }
  if (NOT_BUILT.has(cmd.op)) {
    warn(smmu.cmdq.log, "arm_smmu_cmdq_batch_add", `ignoring unknown CMDQ opcode ${cmd.op}`);
    return;
  }
  batch.cmds[batch.num++] = cmd;
}

/** Follows arm_smmu_cmdq_batch_submit(): the gathered commands plus a CMD_SYNC. */
export function cmdqBatchSubmit(batch: CmdqBatch): number {
  return cmdqIssueCmdlist(batch.smmu, batch.cmds, { n: batch.num, sync: true });
}

function issueOne(smmu: SmmuDevice, cmd: Cmd, sync: boolean): number {
  if (NOT_BUILT.has(cmd.op)) {
    warn(smmu.cmdq.log, "__arm_smmu_cmdq_issue_cmd", `ignoring unknown CMDQ opcode ${cmd.op}`);
    return -22; // -EINVAL
  }
  return cmdqIssueCmdlist(smmu, [cmd], { sync });
}

/** Follows arm_smmu_cmdq_issue_cmd(): one command, no SYNC (PREFETCH_CFG, PRI_RESP, RESUME). */
export function cmdqIssueCmd(smmu: SmmuDevice, cmd: Cmd): number {
  return issueOne(smmu, cmd, false);
}

/** Follows arm_smmu_cmdq_issue_cmd_with_sync(): one command plus a CMD_SYNC. */
export function cmdqIssueCmdWithSync(smmu: SmmuDevice, cmd: Cmd): number {
  return issueOne(smmu, cmd, true);
}
