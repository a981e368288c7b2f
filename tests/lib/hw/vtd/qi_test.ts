import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { type Desc, formatDesc, makeDesc } from "../../../../lib/hw/vtd/desc.ts";
import { vtdIommuCreate } from "../../../../lib/hw/vtd/iommu.ts";
import { qiSubmitSync } from "../../../../lib/hw/vtd/qi.ts";

function unit(caps?: Parameters<typeof vtdIommuCreate>[2]) {
  const log = eventLogCreate();
  const iommu = vtdIommuCreate("dmar0", log, { statusBase: 0x1000n, ...caps });
  const cmds = () => log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd as unknown as Desc] : []);
  return { log, iommu, cmds };
}

const PSI = makeDesc("IOTLB_INV", { gran: 3, did: 5, am: 2, dr: true, dw: true });

Deno.test("qiSubmitSync() ends every submission with a wait on the slot after the batch", () => {
  const { iommu, cmds, log } = unit();
  qiSubmitSync(iommu, [PSI, PSI]);
  // qi_submit_sync(): the wait sits at free_head + count; its status address is
  // &desc_status[wait_index], 4 bytes per int slot: 0x1000 + 2 * 4.
  assert.deepEqual(cmds().map((d) => formatDesc(d, { full: true })), [
    "IOTLB_INV gran=psi did=5 am=2 dr dw",
    "IOTLB_INV gran=psi did=5 am=2 dr dw",
    "INV_WAIT addr=0x1008",
  ]);
  assert.equal(iommu.qi?.freeHead, 3);
  for (const e of log.events) if (e.kind === "cmd") assert.equal(e.queue, "dmar0");
});

Deno.test("qiSubmitSync() traces qi_submit for each descriptor but not for the wait", () => {
  const { iommu, log } = unit();
  qiSubmitSync(iommu, [PSI]);
  const traces = log.events.filter((e) => e.kind === "trace");
  assert.deepEqual(traces, [{
    kind: "trace",
    name: "qi_submit",
    // C.4 vector: IOTLB PSI did=5 AM=2 DR=DW=1 is qw0 0x500f2, qw1 0x2.
    data: { type: "iotlb_inv", iommu: "dmar0", qw0: 0x500f2n, qw1: 0x2n, qw2: 0n, qw3: 0n },
  }]);
  assert.deepEqual(log.events.map((e) => e.kind), ["cmd", "trace", "cmd"]);
});

Deno.test("qiSubmitSync() wraps the head at QI_LENGTH and honours count and drain", () => {
  const { iommu, cmds } = unit();
  for (let i = 0; i < 127; i++) qiSubmitSync(iommu, [PSI]);
  assert.equal(iommu.qi?.freeHead, 254);
  qiSubmitSync(iommu, [PSI, PSI, PSI], { count: 2, waitDrain: true });
  // wait_index = (254 + 2) % 256 = 0; free_head = (254 + 3) % 256 = 1.
  assert.equal(formatDesc(cmds().at(-1) as Desc, { full: true }), "INV_WAIT drain addr=0x1000");
  assert.equal(iommu.qi?.freeHead, 1);
  assert.equal(cmds().length, 127 * 2 + 3);
});

Deno.test("qiSubmitSync() on a unit without queued invalidation records nothing", () => {
  const { iommu, log } = unit({ caps: ["psi"] });
  assert.equal(iommu.qi, null);
  assert.equal(qiSubmitSync(iommu, [PSI]), 0);
  assert.deepEqual(log.events, []);
});
