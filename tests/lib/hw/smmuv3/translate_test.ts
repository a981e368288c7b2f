import assert from "node:assert/strict";
import { iommuAttachDevice } from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import {
  SMMU_FAULTS,
  smmuTranslate,
  smmuTranslateCached,
  smmuTranslateMem,
} from "../../../../lib/hw/smmuv3/translate.ts";
import { iommuMap } from "../../../../lib/pgtable/iommu.ts";
import { IOMMU_READ } from "../../../../lib/pgtable/pgtable.ts";
import { attach, dma, hwSys, map } from "./_hw_fixtures.ts";

const req = (iova: bigint, o: { ssid?: number; write?: boolean; ats?: boolean } = {}) => ({
  sid: 0x20,
  ssid: o.ssid ?? null,
  iova,
  write: o.write ?? false,
  ...(o.ats !== undefined ? { ats: o.ats } : {}),
});

Deno.test("smmuTranslate() walks once, fills every cache, then hits the IOTLB", () => {
  const s = hwSys();
  attach(s, s.dev, "d1");
  map(s, "d1", { iova: 0x40000n, size: 0x2000n, pa: 0x80040000n });
  const c = s.smmu.hw.caches;
  const first = smmuTranslate(c, req(0x41010n), { mem: s.mem, stamp: 3 });
  assert.ok(first.ok);
  assert.equal(first.pa, 0x80041010n);
  assert.equal(first.from, "walk");
  assert.deepEqual([...c.ste.keys()], [0x20]);
  assert.deepEqual([...c.cd.keys()], ["32:0"]);
  // A 48-bit 4K table: levels 0, 1, 2 are table descriptors, the leaf is at level 3.
  assert.deepEqual(c.walk.entries.map((e) => e.level), [0, 1, 2]);
  assert.deepEqual(c.iotlb.entries.map((e) => [e.iova, e.size, e.level, e.filled]), [[
    0x41000n,
    0x1000n,
    3,
    3,
  ]]);
  const again = smmuTranslate(c, req(0x41020n), { mem: s.mem, stamp: 4 });
  assert.ok(again.ok && again.from === "iotlb" && again.pa === 0x80041020n);
  // The neighbour page resumes from the cached level-2 descriptor.
  const next = smmuTranslate(c, req(0x40000n), { mem: s.mem, stamp: 4 });
  assert.ok(next.ok && next.from === "walk");
  assert.equal(c.walk.entries.length, 3);
});

// Faults of the configuration and the walk (Arm IHI 0070 ch.7 event names).
Deno.test("smmuTranslate() reports where a transaction stops", async (t) => {
  const s = hwSys({ features: ["range_inv", "ats", "sva"] });
  const pt = s.domains.d1.pt;
  await t.step("an abort STE (never attached)", () => {
    assert.deepEqual(smmuTranslateMem(s.mem, req(0x40000n)), { ok: false, fault: "STE_ABORT" });
  });
  attach(s, s.dev, "d1");
  await t.step("nothing mapped: F_TRANSLATION", () => {
    assert.deepEqual(smmuTranslateMem(s.mem, req(0x40000n)), { ok: false, fault: "F_TRANSLATION" });
  });
  await t.step("a PASID on a device with one CD: C_BAD_SUBSTREAMID", () => {
    assert.deepEqual(smmuTranslateMem(s.mem, req(0x40000n, { ssid: 1 })), {
      ok: false,
      fault: "C_BAD_SUBSTREAMID",
    });
  });
  await t.step(
    "a read-only page written: F_PERMISSION; an ATS request gets the permissions",
    () => {
      assert.equal(
        iommuMap(pt, { iova: 0x40000n, paddr: 0x1000n, size: 0x1000n, prot: IOMMU_READ }).ret,
        0,
      );
      assert.deepEqual(smmuTranslateMem(s.mem, req(0x40000n, { write: true })), {
        ok: false,
        fault: "F_PERMISSION",
      });
      // dev1 has no ATS: its STE refuses Translation Requests.
      assert.deepEqual(smmuTranslateMem(s.mem, req(0x40000n, { ats: true })), {
        ok: false,
        fault: "ATS_NOT_ALLOWED",
      });
      attach(s, s.nic, "d1");
      const ats = smmuTranslateMem(s.mem, {
        ...req(0x40000n, { write: true, ats: true }),
        sid: 0x10,
      });
      assert.ok(ats.ok && ats.leaf.prot === IOMMU_READ);
    },
  );
  await t.step("identity: a bypass, 4K at a time", () => {
    assert.equal(iommuAttachDevice(s.drv, s.dev, { domain: s.drv.identityDomain }), 0);
    const r = smmuTranslateMem(s.mem, req(0x12345n));
    assert.ok(r.ok && r.from === "bypass" && r.pa === 0x12345n && r.leaf.iova === 0x12000n);
  });
  await t.step("a PASID CD that is not there: C_BAD_CD", () => {
    assert.equal(iommuAttachDevice(s.drv, s.nic, { domain: s.drv.blockedDomain }), 0);
    attach(s, s.nic, "d2", 3);
    const r = smmuTranslateMem(s.mem, { sid: 0x10, ssid: 5, iova: 0n, write: false });
    assert.deepEqual(r, { ok: false, fault: "C_BAD_CD" });
    const rid = smmuTranslateMem(s.mem, { sid: 0x10, ssid: null, iova: 0n, write: false });
    assert.deepEqual(
      rid,
      { ok: false, fault: "F_STREAM_DISABLED" },
      "S1DSS terminate: RID blocked",
    );
  });
  assert.ok(SMMU_FAULTS.length >= 10);
});

Deno.test("smmuTranslateMem() fills nothing; smmuTranslateCached() never walks", () => {
  const s = hwSys();
  attach(s, s.nic, "d1");
  map(s, "d1", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  const c = s.smmu.hw.caches;
  const nic = { sid: 0x10, ssid: null, iova: 0x40000n, write: false };
  assert.ok(smmuTranslateMem(s.mem, nic).ok);
  assert.equal(c.ste.size + c.cd.size + c.iotlb.entries.length, 0);
  assert.deepEqual(smmuTranslateCached(c, nic, { mem: s.mem }), {
    ok: false,
    fault: "F_TRANSLATION",
  });
  assert.equal(dma(s, s.nic, { iova: 0x40000n }).from, "walk");
  const hit = smmuTranslateCached(c, nic, { mem: s.mem });
  assert.ok(hit.ok && hit.from === "iotlb");
});

Deno.test("a walk-cache entry pointing at a freed table is an external abort", () => {
  const s = hwSys();
  attach(s, s.dev, "d1");
  map(s, "d1", { iova: 0x40000n, size: 0x1000n, pa: 0x80040000n });
  assert.equal(dma(s, s.dev, { iova: 0x40000n }).from, "walk");
  const c = s.smmu.hw.caches;
  // The level-3 table goes away behind the SMMU's back (no tlb_flush_walk).
  const l2 = c.walk.entries.find((e) => e.level === 2)!;
  const pt = s.domains.d1.pt;
  for (const [id, t] of pt.tables) if (t.pa === l2.out) pt.tables.delete(id);
  c.iotlb.entries.length = 0;
  assert.deepEqual(dma(s, s.dev, { iova: 0x40000n }), { fault: "F_WALK_EABT" });
});
