import assert from "node:assert/strict";
import { makeS1Cd } from "../../../../lib/drivers/arm-smmu-v3/cd.ts";
import {
  allocCdPtr,
  clearCd,
  getCdPtr,
  writeCdEntry,
} from "../../../../lib/drivers/arm-smmu-v3/cd_table.ts";
import { STRTAB_STE_0_S1FMT_64K_L2 } from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { cmds, paging, probe, problems, world } from "./_fixtures.ts";

Deno.test("allocCdPtr() makes a linear table for up to 1024 CDs, no commands", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10], pasidBits: 10 });
  assert.equal(getCdPtr(m, 0), null);
  allocCdPtr(w.drv, m, { ssid: 1023 });
  assert.deepEqual([m.cdTable.s1fmt, m.cdTable.s1cdmax], [0, 10]);
  assert.deepEqual(cmds(w.log), []);
});

Deno.test("allocCdPtr() two-level: a new leaf table is synced with non-leaf CFGI_CD", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10, 0x11], pasidBits: 16 });
  allocCdPtr(w.drv, m, { ssid: 5 });
  allocCdPtr(w.drv, m, { ssid: 1000 }); // same leaf table: nothing
  allocCdPtr(w.drv, m, { ssid: 1024 }); // next leaf table
  assert.equal(m.cdTable.s1fmt, STRTAB_STE_0_S1FMT_64K_L2);
  assert.deepEqual(cmds(w.log), [
    "CFGI_CD sid=0x10 ssid=5",
    "CFGI_CD sid=0x11 ssid=5",
    "CMD_SYNC",
    "CFGI_CD sid=0x10 ssid=1024",
    "CFGI_CD sid=0x11 ssid=1024",
    "CMD_SYNC",
  ]);
  assert.equal(getCdPtr(m, 3000), null, "no leaf table there yet");
});

Deno.test("writeCdEntry() counts PASID CDs in use, not CD 0", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], pasidBits: 4 });
  const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
  const cd = makeS1Cd({ asid: d.asid, s1: d.s1!, stallEnabled: false });
  writeCdEntry(m, allocCdPtr(w.drv, m, { ssid: 0 }), { ssid: 0, target: cd });
  writeCdEntry(m, allocCdPtr(w.drv, m, { ssid: 3 }), { ssid: 3, target: cd });
  writeCdEntry(m, allocCdPtr(w.drv, m, { ssid: 3 }), { ssid: 3, target: cd }); // unchanged
  assert.equal(m.cdTable.usedSsids, 1);
  clearCd(m, 3);
  clearCd(m, 0);
  assert.equal(m.cdTable.usedSsids, 0);
  // set CD0 (2 syncs), CD3 (2), CD3 again (none), clear CD3 (2), clear CD0 (2).
  assert.equal(cmds(w.log).filter((c) => c === "CMD_SYNC").length, 8);
});

Deno.test("clearCd() does nothing without a CD table and WARNs without the leaf table", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], pasidBits: 16 });
  clearCd(m, 0);
  assert.deepEqual(w.log.events, []);
  allocCdPtr(w.drv, m, { ssid: 0 });
  const mark = w.log.events.length;
  clearCd(m, 5000);
  assert.deepEqual(problems(w.log, mark), ["arm_smmu_clear_cd: WARN_ON: no CD for this SSID"]);
});
