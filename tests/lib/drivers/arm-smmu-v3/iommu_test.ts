import assert from "node:assert/strict";
import {
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iommuRemoveDevicePasid,
} from "../../../../lib/drivers/arm-smmu-v3/iommu.ts";
import { cmds, paging, probe, problems, world } from "./_fixtures.ts";

Deno.test("iommuAttachDevice() records the group's domain; the current one is a no-op (§15.4)", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1] });
  const d = paging(w, { name: "d" });
  assert.equal(iommuAttachDevice(w.drv, m, { domain: d }), 0);
  assert.equal(m.domain, d);
  const mark = w.log.events.length;
  assert.equal(iommuAttachDevice(w.drv, m, { domain: d }), 0);
  assert.equal(w.log.events.length, mark);
  assert.equal(iommuAttachDevice(w.drv, m, { domain: d, path: "driver" }), 0);
  assert.ok(w.log.events.length > mark, "the driver path calls attach_dev");
});

Deno.test("iommuAttachDevice() leaves the group's domain alone when the driver fails", () => {
  const w = world({ smmus: { A: {}, B: { sortKey: 1 } } });
  const a = probe(w, { name: "a", sids: [1] });
  const b = probe(w, { name: "b", smmu: "B", sids: [1] });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, a, { domain: d });
  assert.deepEqual(iommuAttachDevice(w.drv, b, { domain: d }), { errno: "EINVAL" });
  assert.equal(b.domain, null);
});

Deno.test("iommuDetachDevice() attaches the blocked domain", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1] });
  iommuAttachDevice(w.drv, m, { domain: paging(w, { name: "d" }) });
  assert.equal(iommuDetachDevice(w.drv, m), 0);
  assert.equal(m.domain, w.drv.blockedDomain);
  const mark = w.log.events.length;
  assert.equal(iommuDetachDevice(w.drv, m), 0);
  assert.deepEqual(cmds(w.log, mark), []);
});

Deno.test("iommuAttachDevicePasid()/iommuRemoveDevicePasid() keep the PASID table", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], pasidBits: 4 });
  const d = paging(w, { name: "d" });
  assert.equal(iommuAttachDevicePasid(w.drv, m, { pasid: 2, domain: d }), 0);
  assert.equal(m.pasids.get(2), d);
  assert.equal(iommuAttachDevicePasid(w.drv, m, { pasid: 2, domain: d, replace: true }), 0);
  assert.equal(iommuRemoveDevicePasid(w.drv, m, { pasid: 2 }), 0);
  assert.equal(m.pasids.size, 0);
  assert.deepEqual(iommuRemoveDevicePasid(w.drv, m, { pasid: 2 }), { errno: "EINVAL" });
  assert.deepEqual(problems(w.log), ["iommu_remove_dev_pasid: no domain at PASID 2"]);
});

Deno.test("iommuAttachDevicePasid() refuses nested and identity domains at a PASID", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1], pasidBits: 4 });
  assert.deepEqual(
    iommuAttachDevicePasid(w.drv, m, { pasid: 1, domain: w.drv.identityDomain }),
    { errno: "EOPNOTSUPP" },
  );
});
