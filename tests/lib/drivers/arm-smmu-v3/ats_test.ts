import assert from "node:assert/strict";
import { atcInvMaster, atsSupported } from "../../../../lib/drivers/arm-smmu-v3/ats.ts";
import { cmds, probe, world } from "./_fixtures.ts";

Deno.test("atsSupported() needs SMMU ATS, root-complex ATS, a PCI device and its ATS capability", () => {
  const w = world({ smmus: { A: { features: ["ats"] }, B: { sortKey: 1 } } });
  assert.equal(atsSupported(probe(w, { name: "a", sids: [1], ats: true })), true);
  assert.equal(atsSupported(probe(w, { name: "b", sids: [2], ats: true, rcAts: false })), false);
  assert.equal(atsSupported(probe(w, { name: "c", sids: [3], ats: true, pci: false })), false);
  assert.equal(atsSupported(probe(w, { name: "d", sids: [4] })), false);
  assert.equal(atsSupported(probe(w, { name: "e", smmu: "B", sids: [5], ats: true })), false);
});

Deno.test("atcInvMaster() sends one full ATC_INV per StreamID for the PASID, then a SYNC", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x20, 0x10], ats: true });
  atcInvMaster(m, 0);
  atcInvMaster(m, 7);
  assert.deepEqual(cmds(w.log), [
    "ATC_INV sid=0x10 size=52",
    "ATC_INV sid=0x20 size=52",
    "CMD_SYNC",
    "ATC_INV sid=0x10 ssv ssid=7 size=52",
    "ATC_INV sid=0x20 ssv ssid=7 size=52",
    "CMD_SYNC",
  ]);
});
