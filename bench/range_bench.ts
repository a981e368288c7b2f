// Command generation throughput of the shared range-TLBI builder (smmuv3.md §2) and of
// the whole batch → queue path, for RIL and non-RIL SMMUs, 1 to 2^20 pages.
import { eventLogCreate } from "../lib/events.ts";
import { makeCmd } from "../lib/hw/smmuv3/cmd.ts";
import { cmdqBatchInit, cmdqBatchSubmit } from "../lib/hw/smmuv3/cmdq.ts";
import { smmuCreate } from "../lib/hw/smmuv3/smmu.ts";
import { atcInvToCmd } from "../lib/tlbi/atc.ts";
import { cmdqBatchAddRange } from "../lib/tlbi/range.ts";

const TEMPLATE = makeCmd("TLBI_NH_VA", { asid: 1, leaf: true });

function run(ril: boolean, pages: bigint): number {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ril ? ["range_inv"] : [] });
  const batch = cmdqBatchInit(smmu);
  cmdqBatchAddRange(batch, {
    cmd: TEMPLATE,
    iova: 0x40000000n,
    size: pages << 12n,
    granule: 0x1000n,
    pgsize: ril ? 12 : 0,
  });
  cmdqBatchSubmit(batch);
  return log.events.length;
}

for (const pages of [1n, 33n, 512n, 0x12345n, 1n << 20n]) {
  Deno.bench({
    name: `range TLBI, RIL, ${pages} pages`,
    group: `ril`,
    fn: () => {
      run(true, pages);
    },
  });
}
for (const pages of [1n, 33n, 511n, 4096n, 1n << 20n]) {
  Deno.bench({
    name: `range TLBI, no RIL, ${pages} pages (${pages} commands)`,
    group: `no-ril`,
    n: pages >= 4096n ? 20 : undefined,
    fn: () => {
      run(false, pages);
    },
  });
}
Deno.bench({
  name: "ATC_INV range encoding",
  fn: () => {
    atcInvToCmd({ sid: 0x10, ssid: 3, iova: 0x1ff000n, size: 0x2000n });
  },
});
