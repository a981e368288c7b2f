import assert from "node:assert/strict";
import {
  attachCommit,
  attachPrepare,
  removeMasterDomain,
} from "../../../../lib/drivers/arm-smmu-v3/attach.ts";
import { attachStateInit } from "../../../../lib/drivers/arm-smmu-v3/attach_invs.ts";
import { cmds, paging, probe, rows, world } from "./_fixtures.ts";

function traces(log: { events: { kind: string; name?: string }[] }, from = 0) {
  return log.events.slice(from).flatMap((e) => e.kind === "trace" ? [e.name] : []);
}

Deno.test("attachPrepare() decides ATS only for translating domains or a needed CD table", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], ats: true });
  const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
  const a = attachStateInit(m, { oldDomain: null, ssid: 0 });
  assert.equal(attachPrepare(w.drv, a, { newDomain: d }), 0);
  assert.equal(a.atsEnabled, true);
  const b = attachStateInit(m, { oldDomain: null, ssid: 0 });
  attachPrepare(w.drv, b, { newDomain: w.drv.blockedDomain });
  assert.equal(b.atsEnabled, false);
  const c = attachStateInit(m, { oldDomain: null, ssid: 0 });
  c.cdNeedsAts = true;
  attachPrepare(w.drv, c, { newDomain: w.drv.identityDomain });
  assert.equal(c.atsEnabled, true);
  const e = attachStateInit(m, { oldDomain: null, ssid: 0 });
  e.disableAts = true;
  attachPrepare(w.drv, e, { newDomain: d });
  assert.equal(e.atsEnabled, false);
});

Deno.test("attachPrepare() lists the attachment and publishes the array before any command", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], ats: true });
  const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
  const st = attachStateInit(m, { oldDomain: null, ssid: 0 });
  attachPrepare(w.drv, st, { newDomain: d });
  assert.deepEqual(cmds(w.log), []);
  assert.deepEqual(traces(w.log), ["invs_publish"]);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 1, 0, 1]]);
  assert.deepEqual([d.devices.length, d.nrAtsMasters], [1, 1]);
});

Deno.test("attachCommit() flushes the ATC for each ATS transition", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10], ats: true });
  const commit = (ats: boolean, ssid: number) => {
    const st = attachStateInit(m, { oldDomain: null, ssid });
    st.atsEnabled = ats;
    const mark = w.log.events.length;
    attachCommit(w.drv, st);
    return [...cmds(w.log, mark), ...traces(w.log, mark)];
  };
  // Off -> on: empty the ATC, then enable.
  assert.deepEqual(commit(true, 0), ["ATC_INV sid=0x10 size=52", "CMD_SYNC", "pci_enable_ats"]);
  // On -> on at a PASID: that PASID's entries.
  assert.deepEqual(commit(true, 4), ["ATC_INV sid=0x10 ssv ssid=4 size=52", "CMD_SYNC"]);
  // On -> off: everything.
  assert.deepEqual(commit(false, 4), ["ATC_INV sid=0x10 size=52", "CMD_SYNC"]);
  // Off -> off: nothing.
  assert.deepEqual(commit(false, 0), []);
});

Deno.test("removeMasterDomain() removes one of two equal entries and counts ATS masters", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], ats: true });
  const d = paging(w, { name: "d", smmu: w.smmu.smmu0 });
  for (let i = 0; i < 2; i++) {
    attachPrepare(w.drv, attachStateInit(m, { oldDomain: null, ssid: 0 }), { newDomain: d });
  }
  m.atsEnabled = true;
  assert.deepEqual([d.devices.length, d.nrAtsMasters], [2, 2]);
  removeMasterDomain(m, { domain: d, ssid: 0 });
  assert.deepEqual([d.devices.length, d.nrAtsMasters], [1, 1]);
  removeMasterDomain(m, { domain: d, ssid: 7 });
  assert.equal(d.devices.length, 1, "no entry at that PASID");
  removeMasterDomain(m, { domain: w.drv.blockedDomain, ssid: 0 });
  assert.equal(d.devices.length, 1);
});
