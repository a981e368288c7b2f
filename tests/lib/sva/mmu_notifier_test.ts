// Tests of lib/sva/mmu_notifier.ts: mm/mmu_notifier.c dispatch to the SVA domains'
// arch_invalidate_secondary_tlbs and release ops (arm-smmu-v3-sva.c, intel/svm.c).
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  type Mm,
  mmuNotifierArchInvalidateSecondaryTlbs,
  mmuNotifierRelease,
  svaBindDevice,
} from "../../../lib/sva/mod.ts";
import { proc, type SvaWorld, svaWorld, take } from "./_fixtures.ts";

// p1 bound first to `a` (smmu0, ATS, SID 0x10), then to `c` (smmu1, SID 0x20): two SVA
// domains, ASID 1 on smmu0 and ASID 2 on smmu1, the smmu1 one newest.
function twoDomains(): { w: SvaWorld; p1: Mm } {
  const w = svaWorld({
    smmus: { smmu0: {}, smmu1: {} },
    masters: { a: ["smmu0", 0x10, true], c: ["smmu1", 0x20, false] },
  });
  const p1 = proc("p1");
  for (const dev of [w.devs.a, w.devs.c]) {
    assert.ok(!isErr(svaBindDevice(w.sys, { dev, mm: p1 })));
  }
  take(w);
  return { w, p1 };
}

Deno.test("mmuNotifierArchInvalidateSecondaryTlbs() reaches each domain, newest first", () => {
  const { w, p1 } = twoDomains();
  mmuNotifierArchInvalidateSecondaryTlbs(w.sys, p1, { start: 0x400000n, end: 0x402000n });
  // arm_smmu_mm_arch_invalidate_secondary_tlbs(): size = end - start = 8K, granule PAGE_SIZE,
  // not leaf. RIL: 2 pages = NUM 0 (one window of 2) SCALE 1, no TTL, TG 4K. ATS: pages
  // 0x400..0x401 give the 8K block at 0x400000 (SIZE 1), SSV with the PASID.
  assert.deepEqual(take(w), [
    "smmu1: TLBI_NH_VA asid=2 addr=0x400000 scale=1 tg=4K",
    "smmu1: CMD_SYNC",
    "smmu0: TLBI_NH_VA asid=1 addr=0x400000 scale=1 tg=4K",
    "smmu0: CMD_SYNC",
    "smmu0: ATC_INV sid=0x10 ssv ssid=1 addr=0x400000 size=1",
    "smmu0: CMD_SYNC",
  ]);
});

Deno.test("mmuNotifierArchInvalidateSecondaryTlbs() of the whole mm is a full flush", () => {
  const { w, p1 } = twoDomains();
  mmuNotifierArchInvalidateSecondaryTlbs(w.sys, p1, { start: 0n, end: (1n << 64n) - 1n });
  // size = ULONG_MAX, which arm_smmu_inv_size_too_big() takes as everything: NH_ASID; the
  // ATC range from 0 to 2^64-2 is the 2^52-page block, SIZE 52.
  assert.deepEqual(take(w), [
    "smmu1: TLBI_NH_ASID asid=2",
    "smmu1: CMD_SYNC",
    "smmu0: TLBI_NH_ASID asid=1",
    "smmu0: CMD_SYNC",
    "smmu0: ATC_INV sid=0x10 ssv ssid=1 size=52",
    "smmu0: CMD_SYNC",
  ]);
});

Deno.test("mmuNotifierRelease() releases each domain once, then nothing reaches them", () => {
  const { w, p1 } = twoDomains();
  mmuNotifierRelease(w.sys, p1);
  // arm_smmu_mm_release(): each attachment's CD becomes the EPD0 form, a hitless update in
  // two synced steps (qword 0 with EPD0, then qword 1 without TTB0); then
  // arm_smmu_domain_inv(): NH_ASID, and for smmu0 the ATS entry (PASID 1, SIZE 52).
  assert.deepEqual(take(w), [
    "smmu1: CFGI_CD sid=0x20 ssid=1 leaf",
    "smmu1: CMD_SYNC",
    "smmu1: CFGI_CD sid=0x20 ssid=1 leaf",
    "smmu1: CMD_SYNC",
    "smmu1: TLBI_NH_ASID asid=2",
    "smmu1: CMD_SYNC",
    "smmu0: CFGI_CD sid=0x10 ssid=1 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: CFGI_CD sid=0x10 ssid=1 leaf",
    "smmu0: CMD_SYNC",
    "smmu0: TLBI_NH_ASID asid=1",
    "smmu0: CMD_SYNC",
    "smmu0: ATC_INV sid=0x10 ssv ssid=1 size=52",
    "smmu0: CMD_SYNC",
  ]);
  assert.equal(p1.exited, true);
  assert.deepEqual(p1.notifiers, []);
  mmuNotifierArchInvalidateSecondaryTlbs(w.sys, p1, { start: 0x400000n, end: 0x402000n });
  mmuNotifierRelease(w.sys, p1);
  assert.deepEqual(take(w), []);
  // The domains stay bound (and on the kernel-VA list) until the bonds are dropped.
  assert.deepEqual(w.sys.mms, [p1]);
  assert.equal(p1.iommuMm?.svaDomains.length, 2);
});

Deno.test("mmuNotifierRelease() tears down VT-d PASID entries, left fault-disabled", () => {
  const w = svaWorld({ vtd: ["dmar0"], vtdDevs: { d: ["dmar0", 0x300, true] } });
  const p1 = proc("p1");
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs.d, mm: p1 })));
  take(w);
  mmuNotifierRelease(w.sys, p1);
  // intel_mm_release() → intel_pasid_tear_down_entry(fault_ignore): PASID-cache (PASID
  // selective), PASID-IOTLB all-in-PASID for a first-stage entry, then the whole device TLB
  // for the PASID; each single-shot with its own wait.
  assert.deepEqual(take(w), [
    "dmar0: PC_INV gran=pasid did=1 pasid=0x1",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x1",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x1 size_order=52",
    "dmar0: INV_WAIT",
  ]);
  const dev = w.devs.d;
  assert.equal(dev.kind === "vtd" && dev.dev.pasidTable.get(1)?.fpd, true);
});
