import assert from "node:assert/strict";
import {
  armSmmuAttachDev,
  attachDevPaging,
  domainAllocNested,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  isErr,
  type NestedDomain,
  steDecode,
  STRTAB_STE_0_CFG_S1_TRANS,
  STRTAB_STE_0_V,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import { atcFull, cdWrites, cmds, paging, probe, rows, steWrites, world } from "./_fixtures.ts";

// Hand-derived from arm_smmu_attach_dev() (mainline): S1 domain, master with SIDs 0x10 and
// 0x11 and ATS, no PASIDs (linear CD table, no level-1 sync).
const SIDS = [0x10, 0x11];
const S1_ATTACH_ATS = [
  // CD 0: invalid -> valid. Qwords 1.. first (V still 0), then qword 0: two syncs.
  ...cdWrites(SIDS, { syncs: 2 }),
  // STE abort -> CD table, per StreamID: hitless in two syncs (KUnit abort_to_cdtable).
  ...steWrites(SIDS, 2),
  // Commit: ATS turns on, so the whole ATC is emptied first (SSV=0).
  ...atcFull(SIDS),
];

function s1World() {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x11, 0x10], ats: true });
  const d = paging(w, { name: "d1" });
  return { ...w, m, d };
}

Deno.test("attachDevPaging() S1 with ATS: CD, STE, ATC flush in kernel order", () => {
  const { log, drv, m, d } = s1World();
  assert.equal(iommuAttachDevice(drv, m, { domain: d }), 0);
  assert.deepEqual(cmds(log), S1_ATTACH_ATS);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x10, 0, 1], ["ATS", 0x11, 0, 1]]);
  assert.equal(m.atsEnabled, true);
  assert.equal(d.nrAtsMasters, 1);
  // The array is published before the first STE write.
  const names = log.events.flatMap((e) => e.kind === "trace" ? [e.name] : []);
  assert.deepEqual(names.slice(0, 3), ["invs_publish", "cd_write", "ste_write"]);
  assert.equal(names.at(-1), "pci_enable_ats");
  assert.equal(steDecode(drv.instances.get("smmu0")!.strtab.get(0x10)!).config, "s1");
});

Deno.test("iommuDetachDevice() of the last user flushes the ASID after the STE switch", () => {
  const { log, drv, m, d } = s1World();
  iommuAttachDevice(drv, m, { domain: d });
  const mark = log.events.length;
  assert.equal(iommuDetachDevice(drv, m), 0);
  assert.deepEqual(cmds(log, mark), [
    // STE CD table -> abort: two syncs each (KUnit cdtable_to_abort).
    ...steWrites(SIDS, 2),
    // ATS was on and is now off: empty the ATC.
    ...atcFull(SIDS),
    // The ASID lost its last user: flushed with its nsize opcode.
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
    // CD 0 cleared last (valid -> invalid: two syncs).
    ...cdWrites(SIDS, { syncs: 2 }),
  ]);
  assert.deepEqual(rows(d), []);
  assert.equal(d.invs.numTrashes, 0);
  assert.equal(m.atsEnabled, false);
  assert.equal(d.devices.length, 0);
  const traces = log.events.slice(mark).flatMap((e) => e.kind === "trace" ? [e.name] : []);
  assert.equal(traces[0], "pci_disable_ats", "ATS is disabled before the STE changes");
});

Deno.test("iommuDetachDevice() of one of two users keeps the ASID (no flush)", () => {
  const w = world();
  const m1 = probe(w, { name: "m1", sids: [0x10] });
  const m2 = probe(w, { name: "m2", sids: [0x20] });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m1, { domain: d });
  iommuAttachDevice(w.drv, m2, { domain: d });
  const mark = w.log.events.length;
  iommuDetachDevice(w.drv, m1);
  assert.ok(!cmds(w.log, mark).some((c) => c.startsWith("TLBI")));
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1]]);
});

Deno.test("re-attaching the same domain: the core returns early, the driver path re-runs (§15.4)", () => {
  const { log, drv, m, d } = s1World();
  iommuAttachDevice(drv, m, { domain: d });
  let mark = log.events.length;
  assert.equal(iommuAttachDevice(drv, m, { domain: d }), 0);
  assert.deepEqual(log.events.slice(mark), [], "no driver call, no event");
  mark = log.events.length;
  assert.equal(iommuAttachDevice(drv, m, { domain: d, path: "driver" }), 0);
  // §8.4: merge takes every entry to 2 users, unref back to 1: no flush, no purge. The CD and
  // STE are unchanged (no CFGI), the STE writer still prefetches, and ATS staying on flushes
  // the attachment's PASID (0: everything).
  assert.deepEqual(cmds(log, mark), [...steWrites(SIDS, 0), ...atcFull(SIDS)]);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x10, 0, 1], ["ATS", 0x11, 0, 1]]);
  assert.equal(d.devices.length, 1);
});

Deno.test("attachDevPaging() S2: STE only, and the VMID flush on detach", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10] });
  const d = paging(w, { name: "s2", stage: "s2" });
  assert.equal(iommuAttachDevice(w.drv, m, { domain: d }), 0);
  assert.deepEqual(cmds(w.log), steWrites([0x10], 2));
  assert.deepEqual(rows(d), [["S2_VMID", 1, 0, 1]]);
  const mark = w.log.events.length;
  iommuDetachDevice(w.drv, m);
  assert.deepEqual(cmds(w.log, mark).slice(-2), ["TLBI_S12_VMALL vmid=1", "CMD_SYNC"]);
});

Deno.test("attachDevPaging() moving between S1 domains: new array first, old ASID flushed last", () => {
  const { log, drv, m, d } = s1World();
  const d2 = paging({ log, drv, smmu: {} }, { name: "d2" });
  iommuAttachDevice(drv, m, { domain: d });
  const mark = log.events.length;
  assert.equal(iommuAttachDevice(drv, m, { domain: d2 }), 0);
  const out = cmds(log, mark);
  // CD 0 changes ASID and TTB0, two qwords in use: a breaking update (V=0, qword 1.., then
  // qword 0), three syncs. The STE is unchanged; ATS stays on.
  assert.deepEqual(out, [
    ...cdWrites(SIDS, { syncs: 3 }),
    ...steWrites(SIDS, 0),
    ...atcFull(SIDS),
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
  ]);
  assert.deepEqual(rows(d), []);
  assert.deepEqual(rows(d2).map((r) => r[0]), ["S1_ASID", "ATS", "ATS"]);
});

Deno.test("attachDevPaging() refuses a domain of another SMMU (§15.1); multi-smmu allows it", () => {
  for (const variant of ["mainline", "multi-smmu"] as const) {
    const w = world({ variant, smmus: { A: { features: ["ats"] }, B: { sortKey: 1 } } });
    const ma = probe(w, { name: "ma", smmu: "A", sids: [0x10] });
    const mb = probe(w, { name: "mb", smmu: "B", sids: [0x10] });
    const d = paging(w, { name: "d" });
    assert.equal(iommuAttachDevice(w.drv, ma, { domain: d }), 0);
    const mark = w.log.events.length;
    const r = iommuAttachDevice(w.drv, mb, { domain: d });
    if (variant === "mainline") {
      assert.deepEqual(r, { errno: "EINVAL" });
      assert.deepEqual(w.log.events.slice(mark), []);
      assert.equal(mb.domain, null);
    } else {
      assert.equal(r, 0);
      assert.deepEqual(d.invs.inv.map((e) => e.smmu.name), ["A", "B"]);
    }
  }
});

Deno.test("attachDevPaging() S2 while PASIDs are attached is -EBUSY", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10], pasidBits: 4 });
  assert.equal(iommuAttachDevicePasid(w.drv, m, { pasid: 1, domain: paging(w, { name: "d" }) }), 0);
  const s2 = paging(w, { name: "s2", stage: "s2" });
  assert.deepEqual(iommuAttachDevice(w.drv, m, { domain: s2 }), { errno: "EBUSY" });
});

Deno.test("attachDevPaging() ENOMEM in the merge fails before any STE/CD change", () => {
  const { log, drv, m, d } = s1World();
  drv.nomem = 1;
  assert.deepEqual(iommuAttachDevice(drv, m, { domain: d }), { errno: "ENOMEM" });
  assert.deepEqual(cmds(log), []);
  assert.deepEqual(rows(d), []);
  assert.equal(m.domain, null);
});

Deno.test("attachDevPaging() -EINVAL for a master that is not coherent when coherency is enforced", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10], canwbs: false });
  const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
  d.enforceCacheCoherency = true;
  assert.deepEqual(attachDevPaging(w.drv, m, { domain: d, old: null }), { errno: "EINVAL" });
  assert.deepEqual(rows(d), []);
});

Deno.test("attachDevPaging() takes the lowest free ASID at first attach", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10] });
  const a = paging(w, { name: "a" });
  const b = paging(w, { name: "b", id: 1, smmu: w.smmu.smmu0 });
  assert.deepEqual([a.asid, b.asid], [0, 1], "ids are taken when finalised");
  iommuAttachDevice(w.drv, m, { domain: a });
  assert.equal(a.asid, 2);
});

function nestedWorld(vste: readonly [bigint, bigint]) {
  const w = world({ smmus: { A: { features: ["range_inv", "ats", "nesting"] } } });
  const m = probe(w, { name: "m", sids: [0x10], ats: true });
  const parent = paging(w, { name: "s2", nestParent: true, smmu: w.smmu.A });
  const nested = domainAllocNested(w.drv, { name: "n", s2Parent: parent, vste });
  assert.ok(!isErr(nested));
  return { ...w, m, parent, nested: nested as NestedDomain };
}

const VSTE_S1 = STRTAB_STE_0_V | (BigInt(STRTAB_STE_0_CFG_S1_TRANS) << 1n) | 0x1000_0000n;

Deno.test("attachDevNested() adds the parent's entries, with ATS_FULL when the guest enabled ATS", () => {
  const w = nestedWorld([VSTE_S1, 1n << 28n]);
  assert.equal(w.nested.enableAts, true);
  assert.equal(iommuAttachDevice(w.drv, w.m, { domain: w.nested }), 0);
  assert.deepEqual(rows(w.parent), [
    ["S2_VMID", 1, 0, 1],
    ["S2_VMID_S1_CLEAR", 1, 0, 1],
    ["ATS_FULL", 0x10, 0, 1],
  ]);
  assert.equal(w.parent.devices[0].domain, w.nested);
  assert.equal(w.parent.devices[0].nestedAtsFlush, true);
  assert.equal(steDecode(w.drv.instances.get("A")!.strtab.get(0x10)!).config, "nested");
  const mark = w.log.events.length;
  iommuDetachDevice(w.drv, w.m);
  assert.ok(cmds(w.log, mark).includes("TLBI_S12_VMALL vmid=1"));
  assert.deepEqual(rows(w.parent), []);
});

Deno.test("attachDevNested() without guest ATS keeps ATS off", () => {
  const w = nestedWorld([VSTE_S1, 0n]);
  assert.equal(iommuAttachDevice(w.drv, w.m, { domain: w.nested }), 0);
  assert.deepEqual(rows(w.parent).map((r) => r[0]), ["S2_VMID", "S2_VMID_S1_CLEAR"]);
  assert.equal(w.m.atsEnabled, false);
});

Deno.test("armSmmuAttachDev() refuses an SVA domain at the RID", () => {
  const w = world({ smmus: { A: { features: ["sva"] } } });
  const m = probe(w, { name: "m", sids: [1] });
  const d = w.drv.domains.get("x");
  assert.equal(d, undefined);
  const r = armSmmuAttachDev(w.drv, m, {
    domain: { ...paging(w, { name: "p" }), type: "sva" },
    old: null,
  });
  assert.deepEqual(r, { errno: "EINVAL" });
});
