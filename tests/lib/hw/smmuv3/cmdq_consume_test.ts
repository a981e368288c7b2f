import assert from "node:assert/strict";
import { atcFill, atsEndpointCreate } from "../../../../lib/hw/pci/ats.ts";
import { smmuTag } from "../../../../lib/hw/smmuv3/caches.ts";
import { makeCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import {
  cmdqBatchAdd,
  cmdqBatchInit,
  cmdqBatchSubmit,
  cmdqIssueCmd,
  cmdqIssueCmdWithSync,
} from "../../../../lib/hw/smmuv3/cmdq.ts";
import {
  atcInvRequest,
  cmdInvalidates,
  cmdqConsume,
  smmuHwCreate,
} from "../../../../lib/hw/smmuv3/cmdq_consume.ts";
import { tlbInsert } from "../../../../lib/hw/tlb.ts";
import { attach, dma, hwSys, map } from "./_hw_fixtures.ts";

const TAG = smmuTag({ regime: "el1", stage: "s1", vmid: 0, asid: 1 });

function hwWithLeaf() {
  const hw = smmuHwCreate();
  tlbInsert(hw.caches.iotlb, {
    tag: TAG,
    iova: 0x40000n,
    size: 0x1000n,
    level: 3,
    out: 0x80040000n,
    prot: 3,
    root: 0x1000n,
    filled: 0,
  });
  return hw;
}

Deno.test("cmdqConsume() acts on an invalidation only at the next CMD_SYNC", () => {
  const hw = hwWithLeaf();
  cmdqConsume(hw, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  assert.equal(hw.pending.length, 1);
  assert.equal(hw.caches.iotlb.entries.length, 1, "no guarantee before the SYNC");
  cmdqConsume(hw, makeCmd("PREFETCH_CFG", { sid: 0x10 }));
  assert.equal(hw.pending.length, 1, "PREFETCH_CFG needs no SYNC");
  cmdqConsume(hw, makeCmd("CMD_SYNC"));
  assert.equal(hw.pending.length, 0);
  assert.equal(hw.caches.iotlb.entries.length, 0);
});

Deno.test("cmdqConsume() with nothing cached just forgets the group", () => {
  const hw = smmuHwCreate();
  cmdqConsume(hw, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  cmdqConsume(hw, makeCmd("CMD_SYNC"));
  assert.equal(hw.pending.length, 0);
});

Deno.test("the queue feeds the hardware: batches, single commands, force-sync chunks", () => {
  const s = hwSys();
  const hw = s.smmu.hw;
  const batch = cmdqBatchInit(s.smmu);
  cmdqBatchAdd(batch, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  assert.equal(hw.pending.length, 0, "still in the driver's batch");
  cmdqBatchSubmit(batch);
  assert.equal(hw.pending.length, 0, "submitted with its SYNC");
  cmdqIssueCmd(s.smmu, makeCmd("CFGI_STE", { sid: 0x10, leaf: true }));
  assert.equal(hw.pending.length, 1);
  cmdqIssueCmdWithSync(s.smmu, makeCmd("CFGI_CD", { sid: 0x10, leaf: true }));
  assert.equal(hw.pending.length, 0);
});

// ATC_INV ranges (smmuv3.md §11.3): ADDR aligned down to 2^SIZE pages; SIZE 52 = everything.
Deno.test("atcInvRequest() turns ATC_INV into an Invalidate Request", async (t) => {
  const rows = [
    {
      cmd: makeCmd("ATC_INV", { sid: 1, addr: 0x40000n, size: 1 }),
      want: { pasid: null, start: 0x40000n, end: 0x42000n },
    },
    {
      cmd: makeCmd("ATC_INV", { sid: 1, addr: 0x41000n, size: 1 }),
      want: { pasid: null, start: 0x40000n, end: 0x42000n },
    },
    {
      cmd: makeCmd("ATC_INV", { sid: 1, addr: 0x0n, size: 10 }),
      want: { pasid: null, start: 0n, end: 0x400000n },
    },
    { cmd: makeCmd("ATC_INV", { sid: 1, ssv: true, ssid: 3, size: 52 }), want: { pasid: 3 } },
    { cmd: makeCmd("ATC_INV", { sid: 1, size: 63 }), want: { pasid: null } },
  ];
  for (const r of rows) {
    await t.step(`addr ${r.cmd.addr.toString(16)} size ${r.cmd.size} ssv ${r.cmd.ssv}`, () => {
      assert.deepEqual(atcInvRequest(r.cmd), r.want);
    });
  }
});

Deno.test("cmdInvalidates() names the commands that wait for a SYNC", () => {
  assert.equal(cmdInvalidates("TLBI_S2_IPA"), true);
  assert.equal(cmdInvalidates("CFGI_CD_ALL"), true);
  assert.equal(cmdInvalidates("ATC_INV"), true);
  assert.equal(cmdInvalidates("PREFETCH_CFG"), false);
  assert.equal(cmdInvalidates("CMD_SYNC"), false);
  assert.equal(cmdInvalidates("PRI_RESP"), false);
});

// The refetch race of smmuv3.md §11.4: an ATC_INV in the same SYNC group as the TLBI lets the
// device be answered from the IOTLB entry that TLBI is about to remove.
function atsSetup() {
  const s = hwSys();
  attach(s, s.nic, "d1");
  map(s, "d1", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  assert.deepEqual(dma(s, s.nic, { iova: 0x40000n }), { pa: 0x80040000n, from: "walk" });
  assert.equal(s.ep.atc.entries.length, 1);
  return s;
}

Deno.test("an ATC_INV synced after its TLBI leaves nothing to refetch", () => {
  const s = atsSetup();
  cmdqIssueCmdWithSync(s.smmu, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  cmdqIssueCmdWithSync(s.smmu, makeCmd("ATC_INV", { sid: 0x10, size: 52 }));
  assert.equal(s.ep.atc.entries.length, 0);
});

Deno.test("an ATC_INV in the TLBI's SYNC group gets the old translation back", () => {
  const s = atsSetup();
  s.smmu.hw.stamp = 7;
  const batch = cmdqBatchInit(s.smmu);
  cmdqBatchAdd(batch, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  cmdqBatchAdd(batch, makeCmd("ATC_INV", { sid: 0x10, size: 52 }));
  cmdqBatchSubmit(batch);
  assert.equal(s.smmu.hw.caches.iotlb.entries.length, 0);
  const [e] = s.ep.atc.entries;
  assert.equal(e.out, 0x80040000n);
  assert.equal(e.filled, 7);
  assert.match(e.note ?? "", /refetched from the IOTLB.*ATC_INV sid=0x10 size=52/);
});

Deno.test("a function with ATS disabled does not refetch", () => {
  const s = atsSetup();
  s.ep.atsEnabled = false;
  const batch = cmdqBatchInit(s.smmu);
  cmdqBatchAdd(batch, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  cmdqBatchAdd(batch, makeCmd("ATC_INV", { sid: 0x10, size: 52 }));
  cmdqBatchSubmit(batch);
  assert.equal(s.ep.atc.entries.length, 0);
});

Deno.test("ATC_INV reaches the function behind any of its StreamIDs", () => {
  const hw = smmuHwCreate();
  const ep = atsEndpointCreate("nic1", { sids: [0x30, 0x31] });
  for (const sid of ep.sids) hw.endpoints.set(sid, ep);
  const c = {
    ok: true as const,
    iova: 0n,
    size: 0x1000n,
    out: 0x1000n,
    prot: 3,
    level: 3,
    root: 0n,
    ctx: "x",
  };
  atcFill(ep, { pasid: null, sid: 0x30, completion: c, stamp: 0 });
  cmdqConsume(hw, makeCmd("ATC_INV", { sid: 0x31, size: 52 }));
  cmdqConsume(hw, makeCmd("CMD_SYNC"));
  assert.equal(ep.atc.entries.length, 0);
});
