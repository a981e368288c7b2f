// Tests of lib/sva/bind.ts against iommu_sva_bind_device() / iommu_sva_unbind_device() of
// drivers/iommu/iommu-sva.c (e37d5a2d60a3, v6.18): PASID per process, bond refcounts, domain
// sharing, and the kernel-VA list.
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  iommuAllocMmData,
  mmExit,
  svaBindDevice,
  type SvaHandle,
  svaHandleOf,
  svaUnbindDevice,
} from "../../../lib/sva/mod.ts";
import { proc, svaWorld, take } from "./_fixtures.ts";

function bound(h: ReturnType<typeof svaBindDevice>): SvaHandle {
  assert.ok(!isErr(h), `bind failed: ${isErr(h) ? h.errno : ""}`);
  return h;
}

const TWO_SMMUS = {
  smmus: { smmu0: {}, smmu1: {} },
  masters: {
    a: ["smmu0", 0x10, true],
    b: ["smmu0", 0x18, true],
    c: ["smmu1", 0x20, false],
  },
} as const;

Deno.test("svaBindDevice() gives each process the lowest free global PASID from 1", () => {
  const w = svaWorld(TWO_SMMUS);
  const p1 = proc("p1");
  const p2 = proc("p2");
  bound(svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 }));
  bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p2 }));
  // IOMMU_FIRST_GLOBAL_PASID is 1; the IDA is global, so p2 gets 2 even on another SMMU.
  assert.equal(p1.iommuMm?.pasid, 1);
  assert.equal(p2.iommuMm?.pasid, 2);
  // A second device of p1 uses the same PASID.
  bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p1 }));
  assert.deepEqual([...w.sys.pasids].sort(), [1, 2]);
});

Deno.test("svaBindDevice() shares a domain on one SMMU and allocates one per other SMMU", () => {
  const w = svaWorld(TWO_SMMUS);
  const p1 = proc("p1");
  const ha = bound(svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 }));
  const hb = bound(svaBindDevice(w.sys, { dev: w.devs.b, mm: p1 }));
  const hc = bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p1 }));
  assert.equal(ha.domain, hb.domain, "same SMMU: the existing domain attaches");
  assert.notEqual(ha.domain, hc.domain, "other SMMU: the attach fails, a new domain");
  assert.equal(ha.domain.users, 2);
  assert.equal(hc.domain.users, 1);
  // sva_domains and the notifier list are newest first (list_add / hlist_add_head).
  assert.deepEqual(p1.iommuMm?.svaDomains.map((d) => d.name), ["p1@smmu1", "p1@smmu0"]);
  assert.deepEqual(p1.notifiers.map((d) => d.name), ["p1@smmu1", "p1@smmu0"]);
  // SVA ASIDs come from the driver's global allocator.
  assert.equal(ha.domain.kind === "smmuv3" && ha.domain.domain.asid, 1);
  assert.equal(hc.domain.kind === "smmuv3" && hc.domain.domain.asid, 2);
});

Deno.test("svaBindDevice() takes another reference for an existing bond, sending nothing", () => {
  const w = svaWorld(TWO_SMMUS);
  const p1 = proc("p1");
  const h = bound(svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 }));
  take(w);
  assert.equal(bound(svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 })), h);
  assert.equal(h.users, 2);
  assert.equal(h.domain.users, 1, "the domain counts bonds, not binds");
  assert.deepEqual(take(w), []);
  svaUnbindDevice(w.sys, h);
  assert.deepEqual(take(w), [], "the first unbind only drops the reference");
  assert.equal(svaHandleOf(w.sys, { dev: "a", mm: p1 }), h);
});

Deno.test("svaBindDevice() keeps the kernel-VA list and the present flag", async (t) => {
  const w = svaWorld(TWO_SMMUS);
  const p1 = proc("p1");
  const p2 = proc("p2");
  const steps: readonly [string, () => void, readonly string[], boolean][] = [
    ["bind a p1", () => bound(svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 })), ["p1"], true],
    ["bind c p2", () => bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p2 })), ["p2", "p1"], true],
    ["bind b p1", () => bound(svaBindDevice(w.sys, { dev: w.devs.b, mm: p1 })), ["p2", "p1"], true],
    ["unbind a", () => svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "a", mm: p1 })!), [
      "p2",
      "p1",
    ], true],
    ["unbind b", () => svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "b", mm: p1 })!), [
      "p2",
    ], true],
    [
      "unbind c",
      () => svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "c", mm: p2 })!),
      [],
      false,
    ],
  ];
  for (const [name, act, mms, present] of steps) {
    await t.step(name, () => {
      act();
      assert.deepEqual(w.sys.mms.map((m) => m.name), mms);
      assert.equal(w.sys.present, present);
    });
  }
  // Unbinding does not give the PASID back: the mm keeps it until it is dropped.
  assert.equal(p1.iommuMm?.pasid, 1);
});

Deno.test("svaUnbindDevice() detaches, frees the last domain, and its ASID tag is flushed", () => {
  const w = svaWorld({ smmus: { smmu0: {} }, masters: { c: ["smmu0", 0x20, false] } });
  const p1 = proc("p1");
  const h = bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p1 }));
  take(w);
  svaUnbindDevice(w.sys, h);
  // arm_smmu_blocking_set_dev_pasid(): CD 1 cleared in two synced steps; no ATS; ASID 1 lost
  // its last user (NH_ASID + SYNC); no PASID left and the RID blocked: the abort STE is
  // written again (two steps) and prefetched. arm_smmu_sva_domain_free() then invalidates an
  // empty array: nothing more.
  assert.deepEqual(take(w), [
    "smmu0: CFGI_CD sid=0x20 ssid=1 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: CFGI_CD sid=0x20 ssid=1 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: TLBI_NH_ASID asid=1",
    "smmu0: CMD_SYNC",
    "smmu0: CFGI_STE sid=0x20 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: CFGI_STE sid=0x20 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: PREFETCH_CFG sid=0x20",
  ]);
  assert.equal(w.sys.smmu?.domains.has("p1@smmu0"), false);
  assert.equal(w.sys.smmu?.asidXa.has(1), false, "the ASID is free again");
  assert.deepEqual(p1.notifiers, []);
});

Deno.test("iommuAllocMmData() fails like iommu_alloc_mm_data()", async (t) => {
  const w = svaWorld({
    smmus: { smmu0: {} },
    masters: { wide: ["smmu0", 0x10, false, 4], narrow: ["smmu0", 0x18, false, 1] },
    vtd: ["dmar0"],
    vtdDevs: { nopasid: ["dmar0", 0x300, false, false] },
  });
  await t.step("no PASID support: no PASID to give (-ENOSPC)", () => {
    assert.deepEqual(iommuAllocMmData(w.sys, proc("p0"), w.devs.nopasid), { errno: "ENOSPC" });
  });
  await t.step("a PASID the device cannot carry (-EOVERFLOW)", () => {
    const p = proc("p");
    // PASIDs 1 and 2 taken, so the next process gets 3; 1 PASID bit allows only 0..1.
    bound(svaBindDevice(w.sys, { dev: w.devs.wide, mm: proc("x") }));
    bound(svaBindDevice(w.sys, { dev: w.devs.wide, mm: proc("y") }));
    bound(svaBindDevice(w.sys, { dev: w.devs.wide, mm: p }));
    assert.equal(p.iommuMm?.pasid, 3);
    assert.deepEqual(svaBindDevice(w.sys, { dev: w.devs.narrow, mm: p }), {
      errno: "EOVERFLOW",
    });
  });
});

Deno.test("svaBindDevice() is -EBUSY when the PASID holds a non-SVA domain", () => {
  const w = svaWorld({ vtd: ["dmar0"], vtdDevs: { d: ["dmar0", 0x300, false] } });
  const p1 = proc("p1");
  // PASIDs are global, so the device's PASID 1 can only hold p1's SVA domain, or a domain
  // attached there by other means (iommu_attach_device_pasid()), as here.
  const dev = w.devs.d;
  if (dev.kind !== "vtd") throw new Error("fixture");
  dev.dev.pasidDomains.set(1, {} as never);
  assert.deepEqual(svaBindDevice(w.sys, { dev, mm: p1 }), { errno: "EBUSY" });
  assert.equal(p1.iommuMm?.pasid, 1, "the PASID was allocated before the check, and stays");
});

Deno.test("svaUnbindDevice() of an exited process drops its PASID with the last domain", () => {
  const w = svaWorld(TWO_SMMUS);
  const p1 = proc("p1");
  const h = bound(svaBindDevice(w.sys, { dev: w.devs.c, mm: p1 }));
  mmExit(w.sys, p1);
  assert.equal(p1.iommuMm?.pasid, 1, "the SVA domain still holds the mm");
  svaUnbindDevice(w.sys, h);
  assert.equal(p1.iommuMm, null);
  assert.equal(w.sys.pasids.size, 0);
  assert.throws(() => svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 }), TypeError);
});
