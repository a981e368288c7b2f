// Tests of lib/sva/domain.ts: SVA domains behind the iommu core (iommu_sva_domain_alloc(),
// iommu_attach_device_pasid(), iommu_domain_free()) and the drivers' ops.
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  svaAttachDevPasid,
  svaBindDevice,
  svaDevMaxPasids,
  type SvaDomain,
  svaDomainAlloc,
  svaDomainFree,
} from "../../../lib/sva/mod.ts";
import { proc, svaWorld, take } from "./_fixtures.ts";

const MIXED = {
  smmus: { smmu0: {} },
  masters: { a: ["smmu0", 0x10, false, 3] },
  vtd: ["dmar0", "dmar1"],
  vtdDevs: {
    d0: ["dmar0", 0x300, false],
    d1: ["dmar1", 0x8000, true],
    np: ["dmar0", 0x308, false, false],
  },
} as const;

function domain(r: ReturnType<typeof svaDomainAlloc>): SvaDomain {
  assert.ok(!isErr(r));
  return r;
}

Deno.test("svaDevMaxPasids() is the device's PASID space, 0 without PASIDs", () => {
  const w = svaWorld(MIXED);
  assert.equal(svaDevMaxPasids(w.devs.a), 8); // 3 PASID bits
  assert.equal(svaDevMaxPasids(w.devs.d0), 1 << 20);
  assert.equal(svaDevMaxPasids(w.devs.np), 0);
});

Deno.test("svaDomainAlloc() registers the domain as the mm's newest notifier", () => {
  const w = svaWorld(MIXED);
  const p1 = proc("p1");
  p1.iommuMm = { pasid: 1, svaDomains: [] };
  const da = domain(svaDomainAlloc(w.sys, w.devs.a, p1));
  const dv = domain(svaDomainAlloc(w.sys, w.devs.d0, p1));
  assert.equal(da.name, "p1@smmu0");
  assert.equal(dv.name, "p1@dmar0");
  assert.deepEqual(p1.notifiers, [dv, da]);
  // SMMUv3 takes its ASID at allocation (global allocator, from 1).
  assert.equal(da.kind === "smmuv3" && da.domain.asid, 1);
  assert.equal(dv.kind === "vtd" && dv.domain.mmPasid, 1);
  svaDomainFree(w.sys, da);
  assert.deepEqual(p1.notifiers, [dv]);
  assert.equal(w.sys.smmu?.asidXa.size, 0);
  assert.deepEqual(take(w), [], "an SVA domain with nothing attached sends nothing on free");
});

Deno.test("svaAttachDevPasid() refuses a domain of another driver (-EINVAL)", () => {
  const w = svaWorld(MIXED);
  const p1 = proc("p1");
  p1.iommuMm = { pasid: 1, svaDomains: [] };
  const dv = domain(svaDomainAlloc(w.sys, w.devs.d0, p1));
  assert.deepEqual(svaAttachDevPasid(w.sys, dv, { dev: w.devs.a, pasid: 1 }), {
    errno: "EINVAL",
  });
  assert.deepEqual(take(w), []);
});

Deno.test("svaBindDevice() uses one VT-d SVA domain on every unit (DID 1 everywhere)", () => {
  const w = svaWorld(MIXED);
  const p1 = proc("p1");
  const h0 = svaBindDevice(w.sys, { dev: w.devs.d0, mm: p1 });
  const h1 = svaBindDevice(w.sys, { dev: w.devs.d1, mm: p1 });
  const ha = svaBindDevice(w.sys, { dev: w.devs.a, mm: p1 });
  assert.ok(!isErr(h0) && !isErr(h1) && !isErr(ha));
  assert.equal(h0.domain, h1.domain);
  assert.notEqual(h0.domain, ha.domain, "the SMMUv3 device gets a domain of its own driver");
  const d = h0.domain;
  // Cache tags: one IOTLB tag per unit, DID 1, the process PASID; d1 has ATS.
  assert.deepEqual(
    d.kind === "vtd" && d.domain.cacheTags.map((t) => [t.type, t.iommu.name, t.domainId]),
    [["IOTLB", "dmar1", 1], ["DEVTLB", "dmar1", 1], ["IOTLB", "dmar0", 1]],
  );
});
