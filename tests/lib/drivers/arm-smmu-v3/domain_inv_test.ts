import assert from "node:assert/strict";
import { U64_MAX } from "../../../../lib/bits.ts";
import { type Cmd, encodeCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import {
  domainInv,
  domainInvRange,
  flushIotlbAll,
  invMake,
  invsEndBatch,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iotlbSync,
  mmArchInvalidateSecondaryTlbs,
  tlbInvWalk,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import { cmds, paging, probe, problems, rows, sva, type TestWorld, world } from "./_fixtures.ts";

const UNMAP_8K = { start: 0x40000n, end: 0x41fffn, pgsize: 0x1000n };

// smmuv3.md §9.5: S1 domain ASID 1; M1 (SIDs 0x10, 0x11) and M2 (0x20), ATS, RID-attached.
function brief(features: ("range_inv" | "e2h")[]): TestWorld & { mark: number } {
  const w = world({ smmus: { A: { features: ["ats", ...features] } } });
  const m1 = probe(w, { name: "m1", sids: [0x11, 0x10], ats: true });
  const m2 = probe(w, { name: "m2", sids: [0x20], ats: true });
  const d = paging(w, { name: "d1" });
  assert.equal(iommuAttachDevice(w.drv, m1, { domain: d }), 0);
  assert.equal(iommuAttachDevice(w.drv, m2, { domain: d }), 0);
  assert.equal(d.asid, 1);
  return { ...w, mark: w.log.events.length };
}

const ATC_8K = [
  "ATC_INV sid=0x10 addr=0x40000 size=1",
  "ATC_INV sid=0x11 addr=0x40000 size=1",
  "ATC_INV sid=0x20 addr=0x40000 size=1",
  "CMD_SYNC",
];

Deno.test("iotlbSync() emits the §9.5 unmap sequence with RIL, bit-exact", () => {
  const w = brief(["range_inv"]);
  const d = w.drv.domains.get("d1") as Parameters<typeof iotlbSync>[1];
  assert.deepEqual(rows(d), [
    ["S1_ASID", 1, 0, 2],
    ["ATS", 0x10, 0, 1],
    ["ATS", 0x11, 0, 1],
    ["ATS", 0x20, 0, 1],
  ]);
  iotlbSync(w.drv, d, UNMAP_8K);
  assert.deepEqual(cmds(w.log, w.mark, { queue: true }), [
    "A: TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf",
    "A: CMD_SYNC",
    ...ATC_8K.map((c) => `A: ${c}`),
  ]);
  // The words of §9.5.
  const words = w.log.events.slice(w.mark).flatMap((e) =>
    e.kind === "cmd" ? [encodeCmd(e.cmd as unknown as Cmd)] : []
  );
  assert.deepEqual(words.slice(0, 4), [
    [0x0001000000100012n, 0x0000000000040701n],
    [0x000000000fc02046n, 0n],
    [0x0000001000000040n, 0x0000000000040001n],
    [0x0000001100000040n, 0x0000000000040001n],
  ]);
});

Deno.test("iotlbSync() without RIL sends one NH_VA per page (§9.5)", () => {
  const w = brief([]);
  iotlbSync(w.drv, w.drv.domains.get("d1") as never, UNMAP_8K);
  assert.deepEqual(cmds(w.log, w.mark), [
    "TLBI_NH_VA asid=1 addr=0x40000 leaf",
    "TLBI_NH_VA asid=1 addr=0x41000 leaf",
    "CMD_SYNC",
    ...ATC_8K,
  ]);
});

Deno.test("iotlbSync() uses EL2 commands under E2H (§9.5)", () => {
  const w = brief(["range_inv", "e2h"]);
  iotlbSync(w.drv, w.drv.domains.get("d1") as never, UNMAP_8K);
  const out = cmds(w.log, w.mark);
  assert.equal(out[0], "TLBI_EL2_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf");
  const first = w.log.events[w.mark];
  assert.ok(first.kind === "cmd");
  assert.equal(encodeCmd(first.cmd as unknown as Cmd)[0], 0x0001000000100022n);
  assert.deepEqual(out.slice(1), ["CMD_SYNC", ...ATC_8K]);
});

Deno.test("domainInv() flushes the whole ASID and every ATC (§9.5 full flush)", () => {
  const w = brief(["range_inv"]);
  domainInv(w.drv, w.drv.domains.get("d1") as never);
  assert.deepEqual(cmds(w.log, w.mark), [
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
    "ATC_INV sid=0x10 size=52",
    "ATC_INV sid=0x11 size=52",
    "ATC_INV sid=0x20 size=52",
    "CMD_SYNC",
  ]);
});

// §9.5: nest-parent S2 with VMID 3 and one ATS StreamID 0x10.
function nestParent(variant?: "v9", budget?: number) {
  const w = world({ variant, budget, smmus: { A: { features: ["range_inv", "ats", "nesting"] } } });
  const m = probe(w, { name: "m", sids: [0x10], ats: true });
  const d = paging(w, { name: "s2", nestParent: true, id: 3 });
  assert.equal(iommuAttachDevice(w.drv, m, { domain: d }), 0);
  assert.deepEqual(rows(d), [
    ["S2_VMID", 3, 0, 1],
    ["S2_VMID_S1_CLEAR", 3, 0, 1],
    ["ATS_FULL", 0x10, 0, 1],
  ]);
  return { ...w, d, mark: w.log.events.length };
}

Deno.test("domainInvRange() on a nesting parent: S2_IPA, S1 clear, full ATC, three SYNC groups (§9.5)", () => {
  const w = nestParent();
  iotlbSync(w.drv, w.d, { start: 0x80000000n, end: 0x80001fffn, pgsize: 0x1000n });
  assert.deepEqual(cmds(w.log, w.mark), [
    "TLBI_S2_IPA vmid=3 addr=0x80000000 scale=1 ttl=3 tg=4K leaf",
    "CMD_SYNC",
    "TLBI_NH_ALL vmid=3",
    "CMD_SYNC",
    "ATC_INV sid=0x10 size=52",
    "CMD_SYNC",
  ]);
});

Deno.test("domainInv() on a nesting parent skips the S1 clear after S12_VMALL (§9.5)", () => {
  const w = nestParent();
  domainInv(w.drv, w.d);
  assert.deepEqual(cmds(w.log, w.mark), [
    "TLBI_S12_VMALL vmid=3",
    "CMD_SYNC",
    "ATC_INV sid=0x10 size=52",
    "CMD_SYNC",
  ]);
  assert.deepEqual(problems(w.log, w.mark), []);
});

Deno.test("domainInv() v9: the nesting-parent full flush never advances and is stopped (§9.6)", () => {
  const w = nestParent("v9", 1000);
  domainInv(w.drv, w.d);
  // S12_VMALL is submitted (the S1 clear ends the batch), then the walk spins on the clear.
  assert.deepEqual(cmds(w.log, w.mark), ["TLBI_S12_VMALL vmid=3", "CMD_SYNC"]);
  const hang = w.log.events.at(-1);
  assert.deepEqual(hang, { kind: "hang", fn: "__arm_smmu_domain_inv_range", iterations: 1000 });
});

Deno.test("domainInvRange() v9: a ranged nesting-parent flush still terminates", () => {
  const w = nestParent("v9");
  iotlbSync(w.drv, w.d, { start: 0x80000000n, end: 0x80001fffn, pgsize: 0x1000n });
  assert.equal(cmds(w.log, w.mark).length, 6);
  assert.deepEqual(problems(w.log, w.mark), []);
});

Deno.test("domainInvRange() skips the S1 clear when a non-RIL range is too big", () => {
  const w = world({ smmus: { A: { features: ["ats", "nesting"] } } });
  const m = probe(w, { name: "m", sids: [0x10] });
  const d = paging(w, { name: "s2", nestParent: true });
  iommuAttachDevice(w.drv, m, { domain: d });
  const mark = w.log.events.length;
  // 2 MiB of 4K pages is 512 TLBIs: MAX_TLBI_OPS, so the whole VMID goes.
  iotlbSync(w.drv, d, { start: 0n, end: 0x1fffffn, pgsize: 0x1000n });
  assert.deepEqual(cmds(w.log, mark), ["TLBI_S12_VMALL vmid=1", "CMD_SYNC"]);
});

Deno.test("domainInvRange() walks two SMMUs in array order, one queue each (§9.5, multi-smmu)", () => {
  const w = world({
    variant: "multi-smmu",
    smmus: {
      X: { features: ["ats"], sortKey: 0 },
      Y: { features: ["ats", "range_inv"], sortKey: 1 },
    },
  });
  const d = paging(w, { name: "d", id: 7 });
  // Attach on Y first so the domain is finalised there; the array still sorts X first.
  const my = probe(w, { name: "my", smmu: "Y", sids: [0x100], ats: true });
  const mx = probe(w, { name: "mx", smmu: "X", sids: [0x8], ats: true });
  assert.equal(iommuAttachDevice(w.drv, my, { domain: d }), 0);
  assert.equal(iommuAttachDevice(w.drv, mx, { domain: d }), 0);
  const mark = w.log.events.length;
  iotlbSync(w.drv, d, UNMAP_8K);
  assert.deepEqual(cmds(w.log, mark, { queue: true }), [
    "X: TLBI_NH_VA asid=7 addr=0x40000 leaf",
    "X: TLBI_NH_VA asid=7 addr=0x41000 leaf",
    "X: CMD_SYNC",
    "X: ATC_INV sid=0x8 addr=0x40000 size=1",
    "X: CMD_SYNC",
    "Y: TLBI_NH_VA asid=7 addr=0x40000 scale=1 ttl=3 tg=4K leaf",
    "Y: CMD_SYNC",
    "Y: ATC_INV sid=0x100 addr=0x40000 size=1",
    "Y: CMD_SYNC",
  ]);
});

Deno.test("domainInvRange() on E2H with a PASID attachment: SSV ATC_INV (§9.5)", () => {
  const w = world({ smmus: { A: { features: ["range_inv", "ats", "e2h"] } } });
  const m = probe(w, { name: "m", sids: [0x10], ats: true, pasidBits: 8 });
  const d = paging(w, { name: "d" });
  assert.equal(iommuAttachDevicePasid(w.drv, m, { pasid: 5, domain: d }), 0);
  const mark = w.log.events.length;
  iotlbSync(w.drv, d, UNMAP_8K);
  assert.deepEqual(cmds(w.log, mark), [
    "TLBI_EL2_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf",
    "CMD_SYNC",
    "ATC_INV sid=0x10 ssv ssid=5 addr=0x40000 size=1",
    "CMD_SYNC",
  ]);
  const atc = w.log.events.filter((e) => e.kind === "cmd").at(-2);
  assert.ok(atc?.kind === "cmd");
  assert.equal(encodeCmd(atc.cmd as unknown as Cmd)[0], 0x0000001000005840n);
});

Deno.test("domainInvRange() skips a trash entry in the middle of the array (§9.5)", () => {
  const w = world();
  const m1 = probe(w, { name: "m1", sids: [0x10], ats: true });
  const m2 = probe(w, { name: "m2", sids: [0x11], ats: true });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m1, { domain: d });
  iommuAttachDevice(w.drv, m2, { domain: d });
  // The purge after m1's detach fails to allocate: its ATS entry stays as trash.
  w.drv.nomem = 1;
  assert.equal(iommuDetachDevice(w.drv, m1), 0);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x10, 0, 0], ["ATS", 0x11, 0, 1]]);
  assert.equal(d.invs.numTrashes, 1);
  const mark = w.log.events.length;
  iotlbSync(w.drv, d, UNMAP_8K);
  assert.deepEqual(cmds(w.log, mark), [
    "TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf",
    "CMD_SYNC",
    "ATC_INV sid=0x11 addr=0x40000 size=1",
    "CMD_SYNC",
  ]);
});

Deno.test("iotlbSync() does nothing when the gather is empty", () => {
  const w = brief(["range_inv"]);
  iotlbSync(w.drv, w.drv.domains.get("d1") as never, { start: U64_MAX, end: 0n, pgsize: 0n });
  assert.deepEqual(cmds(w.log, w.mark), []);
});

Deno.test("tlbInvWalk() is non-leaf: no TTL, a single page grows to two", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10] });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m, { domain: d });
  const mark = w.log.events.length;
  tlbInvWalk(w.drv, d, { iova: 0x40000n, size: 0x1000n, granule: 0x1000n });
  assert.deepEqual(cmds(w.log, mark), ["TLBI_NH_VA asid=1 addr=0x40000 scale=1 tg=4K", "CMD_SYNC"]);
});

Deno.test("domainInvRange() truncates the granule to 32 bits (§15.5)", () => {
  const w = world({ smmus: { A: {} } });
  const m = probe(w, { name: "m", sids: [0x10] });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m, { domain: d });
  const mark = w.log.events.length;
  // 2^32 + 4K as an unsigned int is 4K: two per-page commands, not one.
  domainInvRange(w.drv, d, { iova: 0x40000n, size: 0x2000n, granule: 0x1_0000_1000n, leaf: true });
  assert.deepEqual(cmds(w.log, mark), [
    "TLBI_NH_VA asid=1 addr=0x40000 leaf",
    "TLBI_NH_VA asid=1 addr=0x41000 leaf",
    "CMD_SYNC",
  ]);
});

Deno.test("mmArchInvalidateSecondaryTlbs(): a range is non-leaf PAGE_SIZE; ULONG_MAX flushes all", () => {
  const w = world({ smmus: { A: { features: ["range_inv", "ats", "sva"] } } });
  const m = probe(w, { name: "m", sids: [0x10], ats: true, pasidBits: 8 });
  const d = sva(w, { name: "mm" });
  assert.equal(iommuAttachDevicePasid(w.drv, m, { pasid: 3, domain: d }), 0);
  let mark = w.log.events.length;
  mmArchInvalidateSecondaryTlbs(w.drv, d, { start: 0x1000n, end: 0x3000n });
  assert.deepEqual(cmds(w.log, mark), [
    "TLBI_NH_VA asid=1 addr=0x1000 scale=1 tg=4K",
    "CMD_SYNC",
    "ATC_INV sid=0x10 ssv ssid=3 size=2",
    "CMD_SYNC",
  ]);
  mark = w.log.events.length;
  mmArchInvalidateSecondaryTlbs(w.drv, d, { start: 0n, end: U64_MAX });
  assert.deepEqual(cmds(w.log, mark), [
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
    "ATC_INV sid=0x10 ssv ssid=3 size=52",
    "CMD_SYNC",
  ]);
});

Deno.test("flushIotlbAll() does nothing for a domain never attached", () => {
  const w = world();
  const d = paging(w, { name: "d" });
  flushIotlbAll(w.drv, d);
  assert.deepEqual(cmds(w.log), []);
});

Deno.test("invsEndBatch() ends a batch on a new SMMU, before the S1 clear and before ATS", () => {
  const w = world({ smmus: { A: {}, B: { sortKey: 1 } } });
  const [a, b] = [w.smmu.A, w.smmu.B];
  assert.equal(
    invsEndBatch(invMake(a, { type: "S1_ASID", id: 1 }), invMake(b, { type: "S1_ASID", id: 1 })),
    true,
  );
  assert.equal(
    invsEndBatch(
      invMake(a, { type: "S2_VMID", id: 1 }),
      invMake(a, { type: "S2_VMID_S1_CLEAR", id: 1 }),
    ),
    true,
  );
  assert.equal(
    invsEndBatch(
      invMake(a, { type: "S2_VMID_S1_CLEAR", id: 1 }),
      invMake(a, { type: "ATS_FULL", id: 1 }),
    ),
    true,
  );
  assert.equal(
    invsEndBatch(invMake(a, { type: "ATS", id: 1 }), invMake(a, { type: "ATS_FULL", id: 2 })),
    false,
  );
  assert.equal(
    invsEndBatch(invMake(a, { type: "S1_ASID", id: 1 }), invMake(a, { type: "S1_ASID", id: 2 })),
    false,
  );
});

Deno.test("domainInvRange() WARNs on an unknown entry type; v9 also hangs on it", () => {
  for (const variant of ["mainline", "v9"] as const) {
    const w = world({ variant, budget: 100 });
    const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
    const bad = { ...invMake(w.smmu.smmu0, { type: "S1_ASID", id: 1 }), type: "BOGUS", users: 1 };
    d.invs = { maxInvs: 1, numInvs: 1, numTrashes: 0, hasAts: false, inv: [bad as never] };
    domainInv(w.drv, d);
    const kinds = w.log.events.map((e) => e.kind);
    assert.equal(kinds[0], "warn");
    assert.equal(kinds.at(-1), variant === "v9" ? "hang" : "warn");
  }
});
