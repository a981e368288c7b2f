import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { formatCmd, makeCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import {
  cmdqBatchAdd,
  cmdqBatchInit,
  cmdqBatchSubmit,
  cmdqIssueCmd,
  cmdqIssueCmdWithSync,
} from "../../../../lib/hw/smmuv3/cmdq.ts";
import { smmuCreate, type SmmuOption } from "../../../../lib/hw/smmuv3/smmu.ts";
import type { Cmd } from "../../../../lib/hw/smmuv3/cmd.ts";

function queueOf(options: SmmuOption[] = []) {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { options });
  const ops = () => log.events.map((e) => e.kind === "cmd" ? (e.cmd as unknown as Cmd).op : e.kind);
  return { log, smmu, ops };
}

function syncIndices(ops: string[]): number[] {
  return ops.flatMap((op, i) => op === "CMD_SYNC" ? [i] : []);
}

// smmuv3.md §5.3: no RIL, 130 leaf TLBIs then submit.
Deno.test("cmdqBatchAdd() without force-sync: 130 commands then one SYNC", () => {
  const { smmu, ops } = queueOf();
  const batch = cmdqBatchInit(smmu);
  for (let i = 0; i < 130; i++) {
    cmdqBatchAdd(batch, makeCmd("TLBI_NH_VA", { asid: 1, leaf: true, addr: BigInt(i) << 12n }));
  }
  cmdqBatchSubmit(batch);
  assert.deepEqual(syncIndices(ops()), [130]);
  assert.equal(ops().length, 131);
});

Deno.test("cmdqBatchAdd() with cmdq_force_sync: SYNCs at queue indices 63, 127 and 132", () => {
  const { smmu, ops } = queueOf(["cmdq_force_sync"]);
  const batch = cmdqBatchInit(smmu);
  for (let i = 0; i < 130; i++) {
    cmdqBatchAdd(batch, makeCmd("TLBI_NH_VA", { asid: 1, leaf: true, addr: BigInt(i) << 12n }));
  }
  cmdqBatchSubmit(batch);
  assert.deepEqual(syncIndices(ops()), [63, 127, 132]);
});

Deno.test("cmdqBatchAdd() pushes a full batch of 64 without SYNC", () => {
  const { smmu, ops } = queueOf();
  const batch = cmdqBatchInit(smmu);
  for (let i = 0; i < 65; i++) cmdqBatchAdd(batch, makeCmd("TLBI_NH_ASID", { asid: i }));
  assert.equal(ops().length, 64);
  assert.equal(batch.num, 1);
  assert.deepEqual(syncIndices(ops()), []);
});

Deno.test("cmdqBatchAdd() drops an opcode arm_smmu_cmdq_build_cmd() cannot build, with a warning", () => {
  const { smmu, log } = queueOf();
  const batch = cmdqBatchInit(smmu);
  cmdqBatchAdd(batch, makeCmd("TLBI_NH_VAA", { vmid: 1 }));
  assert.equal(batch.num, 0);
  assert.deepEqual(log.events, [{
    kind: "warn",
    fn: "arm_smmu_cmdq_batch_add",
    what: "ignoring unknown CMDQ opcode TLBI_NH_VAA",
  }]);
});

Deno.test("cmdqIssueCmd() adds no SYNC; cmdqIssueCmdWithSync() adds one", () => {
  const { smmu, ops } = queueOf();
  cmdqIssueCmd(smmu, makeCmd("PREFETCH_CFG", { sid: 0x10 }));
  cmdqIssueCmdWithSync(smmu, makeCmd("CFGI_STE", { sid: 0x10, leaf: true }));
  assert.deepEqual(ops(), ["PREFETCH_CFG", "CFGI_STE", "CMD_SYNC"]);
});

Deno.test("msipoll: CMD_SYNC uses CS=IRQ and the address of its own queue slot", () => {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { options: ["msipoll"], cmdqBase: 0x80001000n });
  cmdqIssueCmdWithSync(smmu, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  const sync = log.events[1];
  assert.equal(sync.kind, "cmd");
  // Slot 1 of a queue at 0x80001000: 0x80001010.
  assert.equal(
    formatCmd(sync.cmd as unknown as Cmd, { full: true }),
    "CMD_SYNC cs=irq msiaddr=0x80001010",
  );
});
