import assert from "node:assert/strict";
import { findingLine } from "../../../lib/check/finding.ts";
import { orderingFindings } from "../../../lib/check/ordering.ts";
import type { Event } from "../../../lib/events.ts";
import { parseCmd } from "../../../lib/hw/smmuv3/cmd.ts";

function events(lines: readonly string[]): Event[] {
  return lines.map((l) => {
    const [queue, text] = l.includes(": ") ? l.split(": ") : ["smmu0", l];
    return { kind: "cmd", queue, family: "smmuv3", cmd: parseCmd(text) };
  });
}

// The two rules of smmuv3.md §11.4 and §9.3 (arm_smmu_invs_end_batch()).
const ROWS: readonly { name: string; cmds: readonly string[]; want: readonly string[] }[] = [
  {
    name: "the driver's order: TLBI, SYNC, ATC_INV, SYNC",
    cmds: [
      "TLBI_NH_VA asid=1 addr=0x40000 leaf",
      "CMD_SYNC",
      "ATC_INV sid=0x10 addr=0x40000",
      "CMD_SYNC",
    ],
    want: [],
  },
  {
    name: "ATC_INV in the TLBI's SYNC group (reported once per group)",
    cmds: [
      "TLBI_NH_VA asid=1 addr=0x40000 leaf",
      "ATC_INV sid=0x10 addr=0x40000",
      "ATC_INV sid=0x11 addr=0x40000",
      "CMD_SYNC",
    ],
    want: ["ORDER smmu0 sid=0x10 after=TLBI_NH_VA"],
  },
  {
    name: "ATC_INV before the TLBI in one group is not this rule's business",
    cmds: ["ATC_INV sid=0x10 size=52", "TLBI_NH_ASID asid=1", "CMD_SYNC"],
    want: [],
  },
  {
    name: "the step ends with invalidations not followed by a SYNC",
    cmds: ["TLBI_NH_ASID asid=1", "CMD_SYNC", "CFGI_STE sid=0x10 leaf", "TLBI_NH_ALL"],
    want: ["UNSYNCED smmu0 op=CFGI_STE n=2"],
  },
  {
    name: "PREFETCH_CFG needs no SYNC",
    cmds: ["CFGI_STE sid=0x10 leaf", "CMD_SYNC", "PREFETCH_CFG sid=0x10"],
    want: [],
  },
  {
    name: "queues are judged apart",
    cmds: ["a: TLBI_NH_ASID asid=1", "b: ATC_INV sid=0x10 size=52", "b: CMD_SYNC", "a: CMD_SYNC"],
    want: [],
  },
  {
    name: "one queue unsynced, one fine",
    cmds: ["a: TLBI_NH_ASID asid=1", "b: ATC_INV sid=0x10 size=52", "b: CMD_SYNC"],
    want: ["UNSYNCED a op=TLBI_NH_ASID n=1"],
  },
];

Deno.test("orderingFindings() applies the SYNC rules per queue", async (t) => {
  for (const row of ROWS) {
    await t.step(row.name, () => {
      assert.deepEqual(orderingFindings(events(row.cmds)).map((f) => findingLine(f)), row.want);
    });
  }
});

Deno.test("orderingFindings() explains the finding and its fix", () => {
  const [f] = orderingFindings(
    events(["TLBI_S2_IPA vmid=3 addr=0x40000 leaf", "ATC_INV sid=0x10 size=52", "CMD_SYNC"]),
  );
  assert.equal(
    f.what,
    "ATC_INV sid=0x10 size=52 shares a SYNC group with the earlier TLBI_S2_IPA vmid=3 addr=0x40000 leaf on smmu0: the device may be answered from the IOTLB entry the TLBI is about to remove",
  );
  assert.equal(f.fix, "a CMD_SYNC between them would make the TLBI complete first");
  assert.equal(f.since, undefined);
});
