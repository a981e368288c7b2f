// A short tour of the SMMUv3 command model until the spec runner lands: the commands the
// driver emits for an 8 KiB unmap (smmuv3.md §9.5), with and without range invalidation.
// deno-lint-ignore-file no-console
import { eventLogCreate } from "../lib/events.ts";
import { type Cmd, encodeCmd, formatCmd, makeCmd } from "../lib/hw/smmuv3/cmd.ts";
import { cmdqBatchAdd, cmdqBatchInit, cmdqBatchSubmit } from "../lib/hw/smmuv3/cmdq.ts";
import { smmuCreate } from "../lib/hw/smmuv3/smmu.ts";
import { atcInvToCmd } from "../lib/tlbi/atc.ts";
import { cmdqBatchAddRange } from "../lib/tlbi/range.ts";

for (const ril of [true, false]) {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ril ? ["range_inv", "ats"] : ["ats"] });
  const batch = cmdqBatchInit(smmu);
  const cmd = makeCmd("TLBI_NH_VA", { asid: 1, leaf: true });
  cmdqBatchAddRange(batch, {
    cmd,
    iova: 0x40000n,
    size: 0x2000n,
    granule: 0x1000n,
    pgsize: ril ? 12 : 0,
  });
  cmdqBatchSubmit(batch);
  batch.num = 0;
  for (const sid of [0x10, 0x11, 0x20]) {
    cmdqBatchAdd(batch, atcInvToCmd({ sid, ssid: 0, iova: 0x40000n, size: 0x2000n }));
  }
  cmdqBatchSubmit(batch);
  console.log(`unmap 8K at 0x40000, ${ril ? "with" : "without"} range invalidation:`);
  for (const e of log.events) {
    if (e.kind !== "cmd") continue;
    const [w0, w1] = encodeCmd(e.cmd as unknown as Cmd);
    const words = `${w0.toString(16).padStart(16, "0")} ${w1.toString(16).padStart(16, "0")}`;
    console.log(`  ${words}  ${formatCmd(e.cmd as unknown as Cmd)}`);
  }
}
