import assert from "node:assert/strict";
import { findingLine } from "../../../lib/check/finding.ts";
import { orderingFindings } from "../../../lib/check/ordering.ts";
import type { Event } from "../../../lib/events.ts";
import { parseCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { parseDesc } from "../../../lib/hw/vtd/desc.ts";

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

function vtdEvents(lines: readonly string[]): Event[] {
  return lines.map((l) => {
    const [queue, text] = l.includes(": ") ? l.split(": ") : ["dmar0", l];
    return { kind: "cmd", queue, family: "vtd", cmd: parseDesc(text) };
  });
}

// The wait rule of the VT-d spec §6.5.2.9; §6.5.2.12 orders a device-TLB descriptor after the
// IOTLB ones ahead of it, so no rule asks for a wait between them.
const VTD_ROWS: readonly { name: string; cmds: readonly string[]; want: readonly string[] }[] = [
  {
    name: "the driver's submission: IOTLB, device TLB, wait",
    cmds: ["IOTLB_INV gran=psi did=5 am=3 ih", "DEV_TLB_INV sid=0x300 mask=3", "INV_WAIT"],
    want: [],
  },
  {
    name: "a device-TLB descriptor ahead of the IOTLB one is not an ordering finding",
    cmds: ["DEV_TLB_INV sid=0x300 mask=3", "IOTLB_INV gran=psi did=5 am=3 ih", "INV_WAIT"],
    want: [],
  },
  {
    name: "the step ends with descriptors after the last wait",
    cmds: ["PC_INV gran=pasid did=2", "INV_WAIT", "IOTLB_INV gran=dsi did=2", "IEC_INV"],
    want: ["UNSYNCED dmar0 op=IOTLB_INV n=2"],
  },
  {
    name: "units are judged apart, and apart from SMMUv3 queues",
    cmds: ["dmar1: IOTLB_INV gran=global", "dmar0: CC_INV gran=global", "dmar0: INV_WAIT"],
    want: ["UNSYNCED dmar1 op=IOTLB_INV n=1"],
  },
];

Deno.test("orderingFindings() applies the wait rule per VT-d queue", async (t) => {
  for (const row of VTD_ROWS) {
    await t.step(row.name, () => {
      assert.deepEqual(orderingFindings(vtdEvents(row.cmds)).map((f) => findingLine(f)), row.want);
    });
  }
  const [f] = orderingFindings(vtdEvents(["IOTLB_INV gran=dsi did=2"]));
  assert.equal(
    f.what,
    "1 invalidation on dmar0 is not followed by an INV_WAIT (first: IOTLB_INV gran=dsi did=2)",
  );
  assert.equal(f.fix, "an INV_WAIT after it would make sure it takes effect");
  const mixed = [...events(["TLBI_NH_ASID asid=1"]), ...vtdEvents(["INV_WAIT"])];
  assert.deepEqual(orderingFindings(mixed).map((x) => findingLine(x)), [
    "UNSYNCED smmu0 op=TLBI_NH_ASID n=1",
  ]);
});
