import assert from "node:assert/strict";
import {
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuRemoveDevicePasid,
  iotlbSync,
  s1SetDevPasid,
  steDecode,
  STRTAB_STE_1_S1DSS_BYPASS,
  STRTAB_STE_1_S1DSS_TERMINATE,
  svaSetDevPasid,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import {
  atcFull,
  cdWrites,
  cmds,
  paging,
  probe,
  rows,
  steWrites,
  sva,
  type TestWorld,
  world,
} from "./_fixtures.ts";

const SIDS = [0x10, 0x11];

function pasidWorld(opts: { variant?: "v9"; pasidBits?: number } = {}) {
  const w = world({
    variant: opts.variant,
    smmus: { A: { features: ["range_inv", "ats", "sva"] } },
  });
  const m = probe(w, { name: "m", sids: [0x10, 0x11], ats: true, pasidBits: opts.pasidBits ?? 8 });
  return { ...w, m };
}

function ste(w: TestWorld, sid = 0x10) {
  return steDecode(w.drv.instances.get("A")!.strtab.get(sid)!);
}

Deno.test("iommuAttachDevicePasid() on a blocked RID: PASID CD, CD-table STE, ATS on", () => {
  const w = pasidWorld();
  const d = paging(w, { name: "d" });
  assert.equal(iommuAttachDevicePasid(w.drv, w.m, { pasid: 5, domain: d }), 0);
  assert.deepEqual(cmds(w.log), [
    // CD 5 written (two syncs), linear table: no level-1 sync.
    ...cdWrites(SIDS, { ssid: 5, syncs: 2 }),
    // The abort STE becomes a CD-table STE that still aborts non-PASID traffic.
    ...steWrites(SIDS, 2),
    ...atcFull(SIDS),
  ]);
  assert.deepEqual(ste(w), {
    ...ste(w),
    config: "s1",
    s1dss: STRTAB_STE_1_S1DSS_TERMINATE,
    eats: 1,
  });
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x10, 5, 1], ["ATS", 0x11, 5, 1]]);
  assert.equal(w.m.cdTable.usedSsids, 1);
});

Deno.test("iommuAttachDevicePasid() with a two-level CD table syncs the new leaf table first", () => {
  const w = pasidWorld({ pasidBits: 20 });
  const d = paging(w, { name: "d" });
  iommuAttachDevicePasid(w.drv, w.m, { pasid: 2000, domain: d });
  const l1 = cdWrites(SIDS, { ssid: 2000, syncs: 1, leaf: false });
  assert.deepEqual(cmds(w.log).slice(0, 3), l1);
});

Deno.test("PASID removal of the last PASID re-attaches the blocked RID, turning ATS off (§15.2)", () => {
  const w = pasidWorld();
  const d = paging(w, { name: "d" });
  iommuAttachDevicePasid(w.drv, w.m, { pasid: 5, domain: d });
  const mark = w.log.events.length;
  assert.equal(iommuRemoveDevicePasid(w.drv, w.m, { pasid: 5 }), 0);
  assert.deepEqual(cmds(w.log, mark), [
    // CD 5 cleared.
    ...cdWrites(SIDS, { ssid: 5, syncs: 2 }),
    // ATS on: the PASID's ATC entries.
    ...atcFull(SIDS, 5),
    // Last user of the ASID.
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
    // No PASID left: the blocked RID is attached again; the CD-table STE becomes abort.
    ...steWrites(SIDS, 2),
    // ATS switched off: the whole ATC (SSV=0).
    ...atcFull(SIDS),
  ]);
  assert.equal(ste(w).config, "abort");
  assert.equal(w.m.atsEnabled, false);
  assert.equal(w.m.pasids.size, 0);
  assert.deepEqual(rows(d), []);
});

Deno.test("blocked RID attach while a PASID is attached keeps ATS on and flushes SSV=0 (§15.3)", () => {
  const w = pasidWorld();
  const rid = paging(w, { name: "rid" });
  const pd = paging(w, { name: "pd" });
  iommuAttachDevice(w.drv, w.m, { domain: rid });
  iommuAttachDevicePasid(w.drv, w.m, { pasid: 5, domain: pd });
  const mark = w.log.events.length;
  assert.equal(iommuAttachDevice(w.drv, w.m, { domain: w.drv.blockedDomain }), 0);
  assert.deepEqual(cmds(w.log, mark), [
    // S1DSS SSID0 -> TERMINATE: one qword, one sync (KUnit cdtable_s1dss_change).
    ...steWrites(SIDS, 1),
    // ATS stays on, the translation of the RID changed: full SSV=0 flush.
    ...atcFull(SIDS),
    "TLBI_NH_ASID asid=1",
    "CMD_SYNC",
    // CD 0 cleared.
    ...cdWrites(SIDS, { syncs: 2 }),
  ]);
  assert.equal(w.m.atsEnabled, true);
  assert.deepEqual([ste(w).config, ste(w).eats], ["s1", 1]);
  assert.deepEqual(rows(pd).map((r) => r[2]), [0, 5, 5]);
});

Deno.test("PASID attach on an identity RID keeps bypass through S1DSS", () => {
  const w = pasidWorld();
  iommuAttachDevice(w.drv, w.m, { domain: w.drv.identityDomain });
  iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: paging(w, { name: "d" }) });
  assert.deepEqual([ste(w).config, ste(w).s1dss], ["s1", STRTAB_STE_1_S1DSS_BYPASS]);
  iommuRemoveDevicePasid(w.drv, w.m, { pasid: 1 });
  assert.equal(ste(w).config, "bypass");
});

Deno.test("PASID attach under an S2 RID is -EINVAL; PASID 0 or out of range too", () => {
  const w = pasidWorld();
  iommuAttachDevice(w.drv, w.m, { domain: paging(w, { name: "s2", stage: "s2" }) });
  const d = paging(w, { name: "d" });
  assert.deepEqual(iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: d }), {
    errno: "EINVAL",
  });
  assert.deepEqual(iommuAttachDevicePasid(w.drv, w.m, { pasid: 0, domain: d }), {
    errno: "EINVAL",
  });
  assert.deepEqual(iommuAttachDevicePasid(w.drv, w.m, { pasid: 256, domain: d }), {
    errno: "EINVAL",
  });
});

Deno.test("iommuAttachDevicePasid() on a used PASID is -EBUSY unless replacing", () => {
  const w = pasidWorld();
  const [a, b] = [paging(w, { name: "a" }), paging(w, { name: "b" })];
  iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: a });
  assert.deepEqual(iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: b }), { errno: "EBUSY" });
  assert.equal(iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: b, replace: true }), 0);
  assert.deepEqual(rows(a), []);
  assert.deepEqual(rows(b).map((r) => r[2]), [0, 1, 1]);
});

Deno.test("s1SetDevPasid() refuses an S2 domain", () => {
  const w = pasidWorld();
  const s2 = paging(w, { name: "s2", stage: "s2" });
  const r = s1SetDevPasid(w.drv, w.m, { pasid: 1, old: null, domain: s2 });
  assert.deepEqual(r, { errno: "EINVAL" });
});

Deno.test("svaSetDevPasid() writes an SVA CD under the domain's ASID; needs FEAT_SVA", () => {
  const w = pasidWorld();
  const d = sva(w, { name: "mm" });
  assert.equal(svaSetDevPasid(w.drv, w.m, { pasid: 3, old: null, domain: d }), 0);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x10, 3, 1], ["ATS", 0x11, 3, 1]]);
  const noSva = world();
  const m = probe(noSva, { name: "m", sids: [1], pasidBits: 4 });
  const r = svaSetDevPasid(noSva.drv, m, {
    pasid: 1,
    old: null,
    domain: sva(noSva, { name: "x" }),
  });
  assert.deepEqual(r, { errno: "EOPNOTSUPP" });
});

Deno.test("two PASIDs of one domain: separate ATS entries in mainline, one collapsed entry in v9", () => {
  for (const variant of [undefined, "v9"] as const) {
    const w = pasidWorld({ variant });
    const d = paging(w, { name: "d" });
    iommuAttachDevicePasid(w.drv, w.m, { pasid: 1, domain: d });
    iommuAttachDevicePasid(w.drv, w.m, { pasid: 2, domain: d });
    const mark = w.log.events.length;
    iotlbSync(w.drv, d, { start: 0x40000n, end: 0x40fffn, pgsize: 0x1000n });
    const atc = cmds(w.log, mark).filter((c) => c.startsWith("ATC_INV"));
    if (variant === "v9") {
      // v9: no PASID in the comparator, so PASID 2 shares PASID 1's entry and its own ATC
      // entries are never invalidated.
      assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 2], ["ATS", 0x10, 1, 2], ["ATS", 0x11, 1, 2]]);
      assert.deepEqual(
        atc,
        SIDS.map((sid) => `ATC_INV sid=0x${sid.toString(16)} ssv ssid=1 addr=0x40000`),
      );
    } else {
      assert.deepEqual(rows(d).map((r) => [r[1], r[2], r[3]]), [
        [1, 0, 2],
        [0x10, 1, 1],
        [0x10, 2, 1],
        [0x11, 1, 1],
        [0x11, 2, 1],
      ]);
      assert.equal(atc.length, 4);
    }
  }
});
