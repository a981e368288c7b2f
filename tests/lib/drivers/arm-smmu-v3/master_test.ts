import assert from "node:assert/strict";
import { isErr } from "../../../../lib/errno.ts";
import { masterBuildInvs, masterProbe } from "../../../../lib/drivers/arm-smmu-v3/master.ts";
import { steDecode } from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { paging, probe, problems, world } from "./_fixtures.ts";

Deno.test("masterProbe() sorts StreamIDs, sizes the scratch, installs abort STEs", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x30, 0x10, 0x20], ats: true, pasidBits: 24 });
  assert.deepEqual(m.streams, [0x10, 0x20, 0x30]);
  assert.equal(m.buildInvs.maxInvs, 2 + 3, "2 + one per StreamID with ATS");
  assert.equal(probe(w, { name: "n", sids: [1] }).buildInvs.maxInvs, 2);
  assert.equal(m.ssidBits, 20, "capped by the SMMU's SSIDSIZE");
  const ste = w.drv.instances.get("smmu0")!.strtab.get(0x20)!;
  assert.equal(steDecode(ste).config, "abort");
});

Deno.test("masterProbe() refuses a StreamID another master owns (-ENODEV) and releases its own", () => {
  const w = world();
  probe(w, { name: "a", sids: [5] });
  const r = masterProbe(w.drv, { name: "b", smmu: w.smmu.smmu0, sids: [4, 5] });
  assert.deepEqual(r, { errno: "ENODEV" });
  assert.equal(w.drv.instances.get("smmu0")!.streams.has(4), false);
  assert.equal(problems(w.log).length, 1);
  // The same StreamID twice on one master (a bridged PCI device) is fine.
  assert.ok(!isErr(masterProbe(w.drv, { name: "c", smmu: w.smmu.smmu0, sids: [7, 7] })));
});

Deno.test("masterProbe() without two-level CD tables caps PASIDs at a linear table", () => {
  const w = world({ smmus: { A: { cd2l: false } } });
  assert.equal(probe(w, { name: "m", sids: [1], pasidBits: 16 }).ssidBits, 10);
});

Deno.test("masterBuildInvs() builds §7.2's examples", () => {
  const w = world({ smmus: { A: { features: ["range_inv", "ats", "nesting"] } } });
  const m = probe(w, { name: "m", sids: [0x11, 0x10], ats: true });
  const s1 = paging(w, { name: "s1", smmu: w.smmu.A });
  const np = paging(w, { name: "np", nestParent: true, smmu: w.smmu.A, id: 3 });
  const log = w.log;
  const show = () =>
    m.buildInvs.inv.slice(0, m.buildInvs.numInvs).map((e) => [e.type, e.id, e.ssid, e.pgsize]);
  masterBuildInvs(m, s1, { atsEnabled: true, ssid: 0, log });
  assert.deepEqual(show(), [["S1_ASID", 1, 0, 12], ["ATS", 0x10, 0, 0], ["ATS", 0x11, 0, 0]]);
  masterBuildInvs(m, np, { atsEnabled: true, ssid: 0, log });
  assert.deepEqual(show(), [
    ["S2_VMID", 3, 0, 12],
    ["S2_VMID_S1_CLEAR", 3, 0, 0],
    ["ATS_FULL", 0x10, 0, 0],
    ["ATS_FULL", 0x11, 0, 0],
  ]);
  masterBuildInvs(m, s1, { atsEnabled: true, ssid: 5, log });
  assert.deepEqual(show().map((r) => r[2]), [0, 5, 5]);
});

Deno.test("masterBuildInvs() takes pgsize 0 without RIL and the smallest page size with it", () => {
  const w = world({ smmus: { A: {}, B: { features: ["range_inv"], sortKey: 1 } } });
  const a = probe(w, { name: "a", sids: [1] });
  const b = probe(w, { name: "b", smmu: "B", sids: [1] });
  const d = paging(w, { name: "d", pgsizeBitmap: (1n << 16n) | (1n << 29n), smmu: w.smmu.A });
  assert.equal(masterBuildInvs(a, d, { atsEnabled: false, ssid: 0, log: w.log })!.inv[0].pgsize, 0);
  assert.equal(
    masterBuildInvs(b, d, { atsEnabled: false, ssid: 0, log: w.log })!.inv[0].pgsize,
    16,
  );
});

Deno.test("masterBuildInvs() WARNs and returns null when the scratch overflows", () => {
  const w = world({ smmus: { A: { features: ["nesting"] } } });
  // Not ATS-capable: room for 2 entries only; asking for ATS entries overflows.
  const m = probe(w, { name: "m", sids: [0x10] });
  const np = paging(w, { name: "np", nestParent: true, smmu: w.smmu.A });
  assert.equal(masterBuildInvs(m, np, { atsEnabled: true, ssid: 0, log: w.log }), null);
  assert.deepEqual(problems(w.log), [
    "arm_smmu_master_build_inv: WARN_ON: scratch invalidation array is full",
  ]);
});
