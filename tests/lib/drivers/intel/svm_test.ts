import assert from "node:assert/strict";
import { U64_MAX } from "../../../../lib/bits.ts";
import { iommuAttachDevicePasid } from "../../../../lib/drivers/intel/attach.ts";
import { intelArchInvalidateSecondaryTlbs } from "../../../../lib/drivers/intel/svm.ts";
import type { VtdVariant } from "../../../../lib/drivers/intel/variant.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

// Two devices behind dmar0 bound to one process (PASID 0x10): A with ATS, B without,
// bound in that order.
function bound(variant: VtdVariant, quirk = false) {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true, extraDtlbFlush: quirk });
  const B = w.dev(dmar0, { name: "B", sid: 0x308, pasid: true });
  const S = w.domain("S", { kind: "sva", pasid: 0x10, variant });
  assert.equal(iommuAttachDevicePasid(S, A, { pasid: 0x10 }), 0);
  assert.equal(iommuAttachDevicePasid(S, B, { pasid: 0x10 }), 0);
  return { w, S };
}

// mm range [0x7f0000001000, 0x7f0000003000): the inclusive end is ...2fff; pfn ...1 and
// ...2 straddle a 4-page boundary, so B.1 gives AM 2 at 0x7f0000000000.
const RANGE = { start: 0x7f0000001000n, end: 0x7f0000003000n };

Deno.test("intelArchInvalidateSecondaryTlbs() sends one PASID-IOTLB per unit (CT-4)", () => {
  const { w, S } = bound("CT-4");
  const ev = during(w.log, () => intelArchInvalidateSecondaryTlbs(S, RANGE));
  assert.deepEqual(cmds(ev), [
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x7f0000000000 am=2",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0x7f0000000000 size_order=2",
    "dmar0: INV_WAIT",
  ]);
  const f = traces(ev, "cache_tag_flush_range")[0];
  assert.deepEqual([f.start, f.end], [0x7f0000001000n, 0x7f0000002fffn]);
});

// v6.9 intel_flush_svm_range(): pages = (end - start + 4095) >> 12 = 2, cut into 2-page
// aligned blocks from 0x7f0000000000 to 0x7f0000004000; each device (newest first: B)
// gets its own PASID-IOTLB flush per block, so the IOTLB flushes repeat.
Deno.test("intelArchInvalidateSecondaryTlbs() pre-tags: one PASID-IOTLB flush per device", () => {
  const { w, S } = bound("pre-tags");
  const ev = during(w.log, () => intelArchInvalidateSecondaryTlbs(S, RANGE));
  assert.deepEqual(cmds(ev), [
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x7f0000000000 am=1",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x7f0000002000 am=1",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x7f0000000000 am=1",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0x7f0000000000 size_order=1",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x7f0000002000 am=1",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0x7f0000002000 size_order=1",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual(traces(ev, "cache_tag_flush_range"), []);
});

Deno.test("intelArchInvalidateSecondaryTlbs() flushes everything for [0, ULONG_MAX]", async (t) => {
  await t.step("CT-4: flush_all through the tags", () => {
    const { w, S } = bound("CT-4");
    assert.deepEqual(
      cmds(during(w.log, () => intelArchInvalidateSecondaryTlbs(S, { start: 0n, end: U64_MAX }))),
      [
        "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x10",
        "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=52",
        "dmar0: INV_WAIT",
      ],
    );
  });
  await t.step("pre-tags: intel_flush_svm_all() per device", () => {
    const { w, S } = bound("pre-tags");
    assert.deepEqual(
      cmds(during(w.log, () => intelArchInvalidateSecondaryTlbs(S, { start: 0n, end: U64_MAX }))),
      [
        "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x10",
        "dmar0: INV_WAIT",
        "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x10",
        "dmar0: INV_WAIT",
        "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=52",
        "dmar0: INV_WAIT",
      ],
    );
  });
});

// §E.4: KVA flush (PAGE_OFFSET 0xffff888000000000, TLB_FLUSH_ALL): AM 35 at
// 0xffff800000000000; qw1 0xffff800000000023 and 0xffffbffffffff800; quirk doubles the
// device-TLB descriptor.
Deno.test("intelArchInvalidateSecondaryTlbs() on the KVA range gives the §E.4 descriptors", () => {
  const { w, S } = bound("CT-4", true);
  const ev = during(
    w.log,
    () => intelArchInvalidateSecondaryTlbs(S, { start: 0xffff888000000000n, end: U64_MAX }),
  );
  assert.deepEqual(cmds(ev), [
    "dmar0: P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0xffff800000000000 am=35",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0xffff800000000000 size_order=35",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0xffff800000000000 size_order=35",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual(traces(ev, "qi_submit").map((q) => [q.qw0, q.qw1]), [
    [0x0000001000010036n, 0xffff800000000023n],
    [0x0000001003000008n, 0xffffbffffffff800n],
    [0x0000001003000008n, 0xffffbffffffff800n],
  ]);
});
