import assert from "node:assert/strict";
import { findingLine } from "../../../lib/check/finding.ts";
import { smmuCheck } from "../../../lib/check/smmuv3.ts";
import { makeCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { cmdqIssueCmdWithSync } from "../../../lib/hw/smmuv3/cmdq.ts";
import { iommuMap } from "../../../lib/pgtable/iommu.ts";
import { attach, detach, dma, hwSys, map, unmap, unmapRaw } from "../hw/smmuv3/_hw_fixtures.ts";

type Sys = ReturnType<typeof hwSys>;
const check = (s: Sys, step: number, tolerated?: (r: bigint, i: bigint, n: bigint) => boolean) =>
  smmuCheck(s.smmu, { step, mem: s.mem, tolerated }).map((f) => findingLine(f, { short: true }));

function withDma(): Sys {
  const s = hwSys();
  attach(s, s.nic, "d1");
  attach(s, s.dev, "d1");
  map(s, "d1", { iova: 0x40000n, size: 0x2000n, pa: 0x80040000n });
  assert.equal(dma(s, s.nic, { iova: 0x41000n }).from, "walk");
  assert.equal(dma(s, s.dev, { iova: 0x40000n }).from, "walk");
  return s;
}

Deno.test("smmuCheck() finds nothing after the driver's own unmap", () => {
  const s = withDma();
  assert.deepEqual(check(s, 0), []);
  unmap(s, "d1", { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(check(s, 1), []);
});

Deno.test("smmuCheck() names each cached translation the tables no longer back, once", () => {
  const s = withDma();
  unmapRaw(s, "d1", { iova: 0x40000n, size: 0x2000n });
  const found = smmuCheck(s.smmu, { step: 4, mem: s.mem });
  assert.deepEqual(found.map((f) => findingLine(f, { short: true })), [
    "IOTLB smmu0 asid=1 vmid=0 iova=0x41000",
    "IOTLB smmu0 asid=1 vmid=0 iova=0x40000",
    "ATC nic0 sid=0x10 iova=0x41000",
  ]);
  const atc = found[2];
  assert.equal(atc.what, "ATC of nic0 (sid 0x10, no PASID) still maps 0x41000 → 0x80041000");
  assert.equal(atc.fix, "ATC_INV sid=0x10 addr=0x41000 would remove it");
  assert.deepEqual(atc.notes, ["a Translation Request for it fails now (F_TRANSLATION)"]);
  assert.equal(found[0].fix, "TLBI_NH_VA asid=1 addr=0x41000 leaf would remove it");
  assert.equal(found[0].since, 4);
  // Reported once: still stale at the next step, but not reported again.
  assert.deepEqual(check(s, 5), []);
  assert.equal(s.smmu.hw.caches.iotlb.entries[0].stale?.since, 4);
});

Deno.test("smmuCheck() clears the mark when the tables agree again", () => {
  const s = withDma();
  unmapRaw(s, "d1", { iova: 0x40000n, size: 0x2000n });
  assert.equal(check(s, 1).length, 3);
  map(s, "d1", { iova: 0x40000n, size: 0x2000n, pa: 0x80040000n });
  assert.deepEqual(check(s, 2), []);
  assert.equal(s.smmu.hw.caches.iotlb.entries[0].stale, undefined);
});

Deno.test("smmuCheck() reports a remap to another address, with what memory says now", () => {
  const s = withDma();
  unmapRaw(s, "d1", { iova: 0x40000n, size: 0x2000n });
  map(s, "d1", { iova: 0x40000n, size: 0x2000n, pa: 0x90040000n });
  const [f] = smmuCheck(s.smmu, { step: 1, mem: s.mem });
  assert.deepEqual(f.notes, ["the page table now maps 0x41000 (4K) → 0x90041000"]);
});

Deno.test("smmuCheck() tolerates what the caller allows and ATCs with ATS off", () => {
  const s = withDma();
  unmapRaw(s, "d1", { iova: 0x40000n, size: 0x2000n });
  const root = s.domains.d1.d.s1!.ttbr;
  const queued = (r: bigint, iova: bigint) => r === root && iova >= 0x40000n && iova < 0x42000n;
  assert.deepEqual(check(s, 1, queued), []);
  // Marked since step 1, reported when no longer tolerated.
  s.ep.atsEnabled = false;
  assert.deepEqual(check(s, 2), [
    "IOTLB smmu0 asid=1 vmid=0 iova=0x41000",
    "IOTLB smmu0 asid=1 vmid=0 iova=0x40000",
  ]);
  assert.equal(s.smmu.hw.caches.iotlb.entries[0].stale?.since, 1);
  s.ep.atsEnabled = true;
  assert.deepEqual(check(s, 3), ["ATC nic0 sid=0x10 iova=0x41000"]);
});

Deno.test("smmuCheck() finds a walk-cache entry whose table was freed without a walk flush", () => {
  const s = withDma();
  // Unmapping 2M at 0 frees the level-3 table. Here the whole ASID is flushed afterwards,
  // walk cache included; the second time nothing is sent, as if tlb_flush_walk were lost.
  unmapRaw(s, "d1", { iova: 0x0n, size: 0x200000n });
  cmdqIssueCmdWithSync(s.smmu, makeCmd("TLBI_NH_ASID", { asid: 1 }));
  const walk = smmuCheck(s.smmu, { step: 2, mem: s.mem }).filter((f) => f.kind === "WALK");
  assert.equal(walk.length, 0, "NH_ASID dropped the walk cache too");
  assert.equal(dma(s, s.dev, { iova: 0x40000n }).fault, "F_TRANSLATION");
  map(s, "d1", { iova: 0x40000n, size: 0x1000n, pa: 0x1000n });
  assert.equal(dma(s, s.dev, { iova: 0x40000n }).pa, 0x1000n);
  unmapRaw(s, "d1", { iova: 0x0n, size: 0x200000n });
  const [f, ...rest] = smmuCheck(s.smmu, { step: 3, mem: s.mem }).filter((x) => x.kind === "WALK");
  assert.equal(rest.length, 0);
  assert.equal(findingLine(f, { short: true }), "WALK smmu0 asid=1 vmid=0 iova=0x0 level=2");
  assert.match(f.notes[0], /^that entry is invalid now; table 0x[0-9a-f]+ was freed$/);
  // addr=0 is the default, so the canonical text leaves it out.
  assert.equal(f.fix, "TLBI_NH_VA asid=1 would remove it");
});

Deno.test("smmuCheck() compares cached STEs and CDs with memory", () => {
  const s = withDma();
  const strtab = s.drv.instances.get("smmu0")!.strtab;
  strtab.get(0x20)![1] ^= 1n << 19n; // MEV flipped behind the SMMU's back
  s.nic.cdTable.cds.get(0)![3] ^= 1n; // MAIR changed likewise
  assert.deepEqual(check(s, 6), ["STE smmu0 sid=0x20", "CD smmu0 sid=0x10 ssid=0"]);
});

Deno.test("smmuCheck() is quiet across the driver's attach, detach and PASID paths", () => {
  const s = withDma();
  attach(s, s.nic, "d2");
  assert.deepEqual(check(s, 1), []);
  map(s, "d2", { iova: 0x40000n, size: 0x1000n, pa: 0x70000000n });
  assert.equal(dma(s, s.nic, { iova: 0x40000n }).pa, 0x70000000n);
  detach(s, s.dev);
  unmap(s, "d1", { iova: 0x40000n, size: 0x2000n });
  assert.deepEqual(check(s, 2), []);
  assert.equal(iommuMap(s.domains.d1.pt, { iova: 0x40000n, paddr: 0x5000n, size: 0x1000n }).ret, 0);
  assert.deepEqual(check(s, 3), []);
});
