import assert from "node:assert/strict";
import {
  domainAllocNested,
  domainAllocPaging,
  domainFinalise,
  domainFree,
  type NestedDomain,
  toSmmuDomainDevices,
} from "../../../../lib/drivers/arm-smmu-v3/domain.ts";
import { isErr } from "../../../../lib/errno.ts";
import { iommuAttachDevice } from "../../../../lib/drivers/arm-smmu-v3/iommu.ts";
import { cmds, paging, probe, sva, world } from "./_fixtures.ts";

Deno.test("domainFinalise() shares the ASID space with SVA and allocates VMIDs per SMMU from 1", () => {
  const w = world({
    smmus: { A: { features: ["sva", "nesting"] }, B: { sortKey: 1, asidBits: 8, vmidBits: 8 } },
  });
  const s1 = paging(w, { name: "s1", smmu: w.smmu.A });
  const m = sva(w, { name: "mm" });
  assert.equal(domainFinalise(w.drv, m, { smmu: w.smmu.A }), 0);
  const s2a = paging(w, { name: "s2a", stage: "s2", smmu: w.smmu.A });
  const s2b = paging(w, { name: "s2b", stage: "s2", smmu: w.smmu.B });
  assert.deepEqual([s1.asid, m.asid, s2a.vmid, s2b.vmid], [1, 2, 1, 1]);
  assert.deepEqual(w.drv.asidXa, new Map([[1, "s1"], [2, "mm"]]));
  assert.equal(s1.pgsizeBitmap, w.drv.instances.get("A")!.pgsizeBitmap);
  assert.equal(m.pgsizeBitmap, 0x1000n, "SVA: PAGE_SIZE only");
});

Deno.test("domainFinalise() errors: taken or exhausted ids, missing features", () => {
  const w = world({ smmus: { A: { asidBits: 8, vmidBits: 8 } } });
  paging(w, { name: "a", id: 5, smmu: w.smmu.A });
  assert.deepEqual(domainAllocPaging(w.drv, { name: "b", id: 5, smmu: w.smmu.A }), {
    errno: "EBUSY",
  });
  // VMIDs 1..255 of an 8-bit SMMU.
  for (let i = 1; i <= 255; i++) {
    domainAllocPaging(w.drv, { name: `v${i}`, stage: "s2", smmu: w.smmu.A });
  }
  assert.deepEqual(domainAllocPaging(w.drv, { name: "full", stage: "s2", smmu: w.smmu.A }), {
    errno: "ENOSPC",
  });
  assert.deepEqual(domainAllocPaging(w.drv, { name: "np", nestParent: true, smmu: w.smmu.A }), {
    errno: "EOPNOTSUPP",
  });
});

Deno.test("domainFree() returns the ASID/VMID; an SVA domain is flushed first", () => {
  const w = world({ smmus: { A: { features: ["sva", "ats"] } } });
  const s1 = paging(w, { name: "s1", smmu: w.smmu.A });
  const s2 = paging(w, { name: "s2", stage: "s2", smmu: w.smmu.A });
  domainFree(w.drv, s1);
  domainFree(w.drv, s2);
  assert.equal(w.drv.asidXa.size, 0);
  assert.equal(w.drv.instances.get("A")!.vmidMap.size, 0);
  const mm = sva(w, { name: "mm" });
  domainFinalise(w.drv, mm, { smmu: w.smmu.A });
  domainFree(w.drv, mm);
  assert.deepEqual(cmds(w.log), [], "an SVA domain with no device has an empty array");
  assert.equal(w.drv.domains.size, 0);
});

Deno.test("domainAllocNested() validates the vSTE like arm_smmu_validate_vste()", () => {
  const w = world({ smmus: { A: { features: ["nesting"] } } });
  const parent = paging(w, { name: "p", nestParent: true, smmu: w.smmu.A });
  const v = 1n;
  const ok = domainAllocNested(w.drv, {
    name: "n1",
    s2Parent: parent,
    vste: [v | (5n << 1n), 1n << 28n],
  });
  assert.ok(!isErr(ok));
  assert.deepEqual([(ok as NestedDomain).enableAts, (ok as NestedDomain).ste[1]], [true, 0n]);
  const invalid = domainAllocNested(w.drv, { name: "n2", s2Parent: parent, vste: [0n, 0xffn] });
  assert.deepEqual((invalid as NestedDomain).ste, [0n, 0n]);
  const bad = (vste: [bigint, bigint]) =>
    domainAllocNested(w.drv, { name: `x${vste}`, s2Parent: parent, vste });
  assert.deepEqual(bad([v | (6n << 1n), 0n]), { errno: "EIO" }, "CFG S2 is not the guest's");
  assert.deepEqual(bad([v | (1n << 2n), 0n]), { errno: "EIO" }, "reserved CFG");
  assert.deepEqual(bad([v, 1n << 40n]), { errno: "EIO" }, "bit outside the allowed mask");
  assert.deepEqual(bad([v | (5n << 1n), 2n << 28n]), { errno: "EIO" }, "EATS S1CHK");
  const s2 = paging(w, { name: "plain", stage: "s2", smmu: w.smmu.A });
  assert.deepEqual(domainAllocNested(w.drv, { name: "n3", s2Parent: s2, vste: [0n, 0n] }), {
    errno: "EINVAL",
  });
});

Deno.test("toSmmuDomainDevices() maps nested to its parent and identity/blocked to none", () => {
  const w = world({ smmus: { A: { features: ["nesting"] } } });
  const parent = paging(w, { name: "p", nestParent: true, smmu: w.smmu.A });
  const n = domainAllocNested(w.drv, { name: "n", s2Parent: parent, vste: [0n, 0n] });
  assert.equal(toSmmuDomainDevices(n as NestedDomain), parent);
  assert.equal(toSmmuDomainDevices(parent), parent);
  assert.equal(toSmmuDomainDevices(w.drv.identityDomain), null);
  assert.equal(toSmmuDomainDevices(null), null);
});

Deno.test("a domain is finalised by its first attach, with page-table setup for its stage", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [1] });
  const d = paging(w, { name: "d", stage: "s2" });
  assert.deepEqual([d.smmu, d.s2], [null, null]);
  iommuAttachDevice(w.drv, m, { domain: d });
  assert.equal(d.smmu, w.smmu.smmu0);
  assert.ok(d.s2 && d.s2.vttbr !== 0n);
});
