import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { encodeDesc, formatDesc } from "../../../../lib/hw/vtd/desc.ts";
import { vtdIommuCreate } from "../../../../lib/hw/vtd/iommu.ts";
import {
  qiDescDevIotlb,
  qiDescDevIotlbPasid,
  qiDescIotlb,
  qiDescPiotlb,
  qiDescPiotlbAll,
  qiDescPiotlbPages,
} from "../../../../lib/drivers/intel/qi_desc.ts";
import { U64_MAX } from "../../../../lib/bits.ts";

const unit = (caps: ("read_drain" | "write_drain" | "qis")[]) =>
  vtdIommuCreate("dmar0", eventLogCreate(), { caps });

// §C.4 vectors rebuilt from kernel arguments (the builders, not the codec).
Deno.test("qiDescIotlb() reproduces the §C.4 IOTLB vectors from kernel arguments", () => {
  const drdw = unit(["read_drain", "write_drain", "qis"]);
  const d = qiDescIotlb(drdw, { did: 5, addr: 0n | 1n, sizeOrder: 2, gran: 3, honourIh: true });
  assert.deepEqual(encodeDesc(d), [0x00000000000500f2n, 0x42n]);
  const plain = unit(["qis"]);
  const e = qiDescIotlb(plain, { did: 5, addr: 0n, sizeOrder: 2, gran: 3, honourIh: true });
  assert.deepEqual(encodeDesc(e), [0x0000000000050032n, 0x2n]);
});

Deno.test("qiDescIotlb() drops the hint before the 6.18 fix", () => {
  const u = unit(["qis"]);
  assert.equal(
    qiDescIotlb(u, { did: 5, addr: 0x4001n, sizeOrder: 0, gran: 3, honourIh: false }).ih,
    false,
  );
  assert.equal(
    qiDescIotlb(u, { did: 5, addr: 0x4001n, sizeOrder: 0, gran: 3, honourIh: true }).ih,
    true,
  );
  assert.equal(
    qiDescIotlb(u, { did: 5, addr: 0x4001n, sizeOrder: 0, gran: 3, honourIh: true }).addr,
    0x4000n,
  );
});

Deno.test("qiDescDevIotlb() writes depth 32 as 0 and reproduces §C.4", () => {
  const d = qiDescDevIotlb({ sid: 0x300, pfsid: 0, qdep: 32, addr: 0n, mask: 2 });
  assert.deepEqual(encodeDesc(d), [0x0000030000000003n, 0x1001n]);
  const e = qiDescDevIotlb({ sid: 0x300, pfsid: 0, qdep: 8, addr: 0x5000n, mask: 0 });
  assert.deepEqual(encodeDesc(e), [0x0000030000080003n, 0x5000n]);
  const all = qiDescDevIotlb({ sid: 0x300, pfsid: 0, qdep: 32, addr: 0n, mask: 52 });
  assert.deepEqual(encodeDesc(all), [0x0000030000000003n, 0x7ffffffffffff001n]);
});

// qi_desc_dev_iotlb() ORs (1 << (12 + mask - 1)) - 1 into the address: for 0x6000 and
// mask 2 that is 0x6000 | 0x1fff = 0x7fff; as page bits 0x7000, the lowest clear bit at or
// above 12 is bit 15, so the hardware reads a 64 KiB block at 0x0.
Deno.test("qiDescDevIotlb() records what the hardware reads for an unaligned address", () => {
  const d = qiDescDevIotlb({ sid: 0x300, pfsid: 0, qdep: 8, addr: 0x6000n, mask: 2 });
  assert.deepEqual([d.addr, d.mask], [0x0n, 4]);
});

Deno.test("qiDescDevIotlbPasid() masks the depth to 5 bits and forces the size bits", () => {
  const d = qiDescDevIotlbPasid({ sid: 0x300, pfsid: 0, pasid: 0x10, qdep: 32, addr: 0n, mask: 2 });
  assert.deepEqual(encodeDesc(d), [0x0000001003000008n, 0x1800n]);
  const u = qiDescDevIotlbPasid({
    sid: 0x300,
    pfsid: 0,
    pasid: 0x10,
    qdep: 33,
    addr: 0x6000n,
    mask: 2,
  });
  assert.deepEqual([u.qdep, u.addr, u.size_order], [1, 0x4000n, 2]);
});

Deno.test("qiDescPiotlb*() cover all-in-PASID, size order and page count", () => {
  assert.deepEqual(encodeDesc(qiDescPiotlbAll({ did: 1, pasid: 0x10 })), [0x0000001000010026n, 0n]);
  const p = qiDescPiotlb({ did: 1, pasid: 0x10, addr: 0n, sizeOrder: 2, ih: false });
  assert.deepEqual(encodeDesc(p), [0x0000001000010036n, 0x2n]);
  const log = eventLogCreate();
  assert.equal(
    formatDesc(
      qiDescPiotlbPages(log, { did: 1, pasid: 0x10, addr: 0n, npages: U64_MAX, ih: false }),
    ),
    "P_IOTLB_INV gran=pasid did=1 pasid=0x10",
  );
  // 3 pages round up to 4: AM 2; 0x5000 is not 16 KiB aligned: WARN once, round down.
  const q = qiDescPiotlbPages(log, { did: 1, pasid: 0x10, addr: 0x5000n, npages: 3n, ih: true });
  assert.equal(formatDesc(q), "P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x4000 am=2 ih");
  assert.deepEqual(log.events, [
    { kind: "warn", fn: "qi_desc_piotlb", what: "WARN_ON_ONCE(!IS_ALIGNED(addr, align))" },
  ]);
});

// An empty gather's flush computes mask 53 (calculate_psi_aligned_address(ULONG_MAX, 0));
// qi_desc_dev_iotlb() then shifts 1ULL by 12 + 53 - 1 = 64, undefined in C. x86 masks the
// count to 6 bits: 1 << 0, minus 1, sets no size bits, so with S=1 the device reads the
// lowest clear bit of address 0, bit 12: 8 KiB at 0. qi_desc_dev_iotlb_pasid() likewise.
Deno.test("qiDescDevIotlb() and the PASID form follow x86 for the undefined mask-53 shift", () => {
  const dev = qiDescDevIotlb({ sid: 0x300, pfsid: 0, qdep: 0, addr: 0n, mask: 53 });
  assert.equal(dev.addr, 0n);
  assert.equal(dev.mask, 1);
  const pdev = qiDescDevIotlbPasid({ sid: 0x300, pfsid: 0, qdep: 0, addr: 0n, mask: 53, pasid: 1 });
  assert.equal(pdev.addr, 0n);
  assert.equal(pdev.size_order, 1);
});
