import assert from "node:assert/strict";
import { iommuAttachDevice } from "../../../../lib/drivers/intel/attach.ts";
import {
  domainAttachIommu,
  domainDetachIommu,
  domainGetIdForDev,
  domainIdIommu,
  domainUsePiotlb,
} from "../../../../lib/drivers/intel/domain.ts";
import type { VtdVariant } from "../../../../lib/drivers/intel/variant.ts";
import { world } from "./fixtures.ts";

Deno.test("domainAlloc() refuses impossible nesting and SVA without a PASID", () => {
  const w = world();
  const plain = w.domain("P");
  assert.throws(() => w.domain("N", { kind: "nested" }), TypeError);
  assert.throws(() => w.domain("N", { kind: "nested", parent: plain }), /nest-parent/);
  assert.throws(() => w.domain("F", { kind: "fs_paging", nestParent: true }), TypeError);
  assert.throws(() => w.domain("S", { kind: "sva" }), /PASID/);
  assert.throws(() => w.domain("X", { parent: w.domain("Q", { nestParent: true }) }), TypeError);
});

// ida_alloc_range(IDA_START_DID = 2, ndoms - 1): lowest free id, freed with the last user.
Deno.test("domainAttachIommu() hands out the lowest free DID from 2 and shares it per unit", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const [a, b, c] = [w.domain("a"), w.domain("b"), w.domain("c")];
  assert.equal(domainAttachIommu(a, u), 0);
  assert.equal(domainAttachIommu(a, u), 0);
  assert.equal(domainAttachIommu(b, u), 0);
  assert.deepEqual([domainIdIommu(a, u), domainIdIommu(b, u)], [2, 3]);
  assert.equal(a.iommuArray.get(u.seqId)?.refcnt, 2);
  domainDetachIommu(a, u);
  assert.equal(u.didsInUse.has(2), true);
  domainDetachIommu(a, u);
  assert.equal(u.didsInUse.has(2), false);
  domainAttachIommu(c, u);
  assert.equal(domainIdIommu(c, u), 2);
});

Deno.test("domainAttachIommu() takes a fixed DID, and ENOSPC when it is taken", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const a = w.domain("a", { dids: { dmar0: 40 } });
  const b = w.domain("b", { dids: { dmar0: 40 } });
  assert.equal(domainAttachIommu(a, u), 0);
  assert.equal(domainIdIommu(a, u), 40);
  assert.deepEqual(domainAttachIommu(b, u), { errno: "ENOSPC" });
  assert.deepEqual(domainAttachIommu(w.domain("c", { dids: { dmar0: 1 } }), u), {
    errno: "ENOSPC",
  });
});

Deno.test("domainIdIommu() WARNs for a unit the domain is not on; SVA always gets DID 1", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const d = w.domain("d");
  assert.equal(domainIdIommu(d, u), 0);
  assert.equal(w.log.events[0].kind, "warn");
  const dev = w.dev(u, { name: "A", sid: 0x300 });
  assert.equal(domainGetIdForDev(w.domain("s", { kind: "sva", pasid: 5 }), dev), 1);
  domainDetachIommu(d, u);
  assert.equal(w.log.events.filter((e) => e.kind === "warn").length, 2);
});

Deno.test("domainAttachIommu() marks domains whose maps must flush (iotlb_sync_map)", () => {
  const w = world();
  const cm = w.iommu("dmar0", { extra: ["caching_mode"] });
  const rwbf = w.iommu("dmar1", { extra: ["rwbf"] });
  const ss = w.domain("ss");
  const fs = w.domain("fs", { kind: "fs_paging" });
  domainAttachIommu(ss, cm);
  domainAttachIommu(fs, cm);
  assert.deepEqual([ss.iotlbSyncMap, fs.iotlbSyncMap], [true, false]);
  domainAttachIommu(fs, rwbf);
  assert.equal(fs.iotlbSyncMap, true);
});

Deno.test("domainUsePiotlb() per variant: only first-stage paging in CT-3", async (t) => {
  const rows: [VtdVariant, boolean, boolean, boolean, boolean][] = [
    // variant, ss_paging, fs_paging, sva, nested
    ["CT-1", false, true, true, true],
    ["CT-2", false, true, true, true],
    ["CT-3", false, true, false, false],
    ["CT-4", false, true, true, true],
  ];
  for (const [variant, ...want] of rows) {
    await t.step(variant, () => {
      const w = world();
      const p = w.domain("p", { nestParent: true, variant });
      const got = [
        domainUsePiotlb(w.domain("a", { variant })),
        domainUsePiotlb(w.domain("b", { kind: "fs_paging", variant })),
        domainUsePiotlb(w.domain("c", { kind: "sva", pasid: 1, variant })),
        domainUsePiotlb(w.domain("d", { kind: "nested", parent: p, variant })),
      ];
      assert.deepEqual(got, want);
    });
  }
});

Deno.test("a World of units, devices and domains survives structuredClone", () => {
  const w = world();
  const u = w.iommu("dmar0");
  const A = w.dev(u, { name: "A", sid: 0x300, ats: true });
  const D = w.domain("D");
  iommuAttachDevice(D, A);
  const copy = structuredClone({ u, A, D });
  assert.equal(copy.D.cacheTags[0].iommu, copy.u);
  assert.equal(copy.D.cacheTags[1].dev, copy.A);
  assert.equal(copy.A.domain, copy.D);
  assert.notEqual(copy.u, u);
});
