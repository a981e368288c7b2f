import assert from "node:assert/strict";
import { U64_MAX } from "../../../../lib/bits.ts";
import { iommuAttachDevice, iommuAttachDevicePasid } from "../../../../lib/drivers/intel/attach.ts";
import {
  cacheTagFlushDevtlbAll,
  cacheTagFlushDevtlbPsi,
  cacheTagFlushIotlb,
} from "../../../../lib/drivers/intel/cache_tag_flush.ts";
import { qiBatchFlushDescs } from "../../../../lib/drivers/intel/qi_batch.ts";
import type { VtdCap } from "../../../../lib/hw/vtd/iommu.ts";
import type { VtdVariant } from "../../../../lib/drivers/intel/variant.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

function oneTag(
  o: { variant?: VtdVariant; kind?: "ss_paging" | "fs_paging"; caps?: VtdCap[]; mamv?: number },
) {
  const w = world();
  const dmar0 = w.iommu("dmar0", { caps: o.caps, mamv: o.mamv });
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true, qdep: 8 });
  const D = w.domain("D", { kind: o.kind ?? "ss_paging", variant: o.variant ?? "CT-4" });
  assert.equal(iommuAttachDevice(D, A), 0);
  const run = (fn: () => void) =>
    cmds(during(w.log, () => {
      fn();
      qiBatchFlushDescs(dmar0, D.qiBatch);
    }));
  return { w, D, A, dmar0, iotlb: D.cacheTags[0], devtlb: D.cacheTags[1], run };
}

Deno.test("cacheTagFlushIotlb() falls back to DSI without PSI, above MAMV, or for everything", async (t) => {
  const psi = { addr: 0x4000n, pages: 4n, mask: 2, ih: 1 } as const;
  const rows: [
    string,
    Parameters<typeof oneTag>[0],
    typeof psi | { addr: bigint; pages: bigint; mask: number; ih: 0 | 1 },
    string,
  ][] = [
    ["PSI", {}, psi, "dmar0: IOTLB_INV gran=psi did=2 addr=0x4000 am=2 ih dr dw"],
    [
      "no CAP.PSI",
      { caps: ["qis", "smts", "slts", "dev_iotlb"] },
      psi,
      "dmar0: IOTLB_INV gran=dsi did=2",
    ],
    ["AM 2 > MAMV 1", { mamv: 1 }, psi, "dmar0: IOTLB_INV gran=dsi did=2 dr dw"],
    [
      "AM 2 = MAMV 2",
      { mamv: 2 },
      psi,
      "dmar0: IOTLB_INV gran=psi did=2 addr=0x4000 am=2 ih dr dw",
    ],
    [
      "CT-2 pages -1",
      { variant: "CT-2" },
      { addr: 0n, pages: U64_MAX, mask: 0, ih: 0 },
      "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    ],
  ];
  for (const [name, o, r, want] of rows) {
    await t.step(name, () => {
      const x = oneTag(o);
      assert.deepEqual(x.run(() => cacheTagFlushIotlb(x.D, x.iotlb, r)), [want, "dmar0: INV_WAIT"]);
    });
  }
});

Deno.test("cacheTagFlushIotlb() builds PASID-IOTLB by size order (CT-4) or page count (CT-2)", async (t) => {
  const rows: [VtdVariant, { addr: bigint; pages: bigint; mask: number; ih: 0 | 1 }, string][] = [
    [
      "CT-4",
      { addr: 0x4000n, pages: 4n, mask: 2, ih: 1 },
      "P_IOTLB_INV gran=psi did=2 addr=0x4000 am=2 ih",
    ],
    ["CT-4", { addr: 0n, pages: 1n << 52n, mask: 52, ih: 0 }, "P_IOTLB_INV gran=pasid did=2"],
    // CT-2: AM comes from the page count: 3 pages round up to 4 (AM 2).
    [
      "CT-2",
      { addr: 0x4000n, pages: 3n, mask: 9, ih: 0 },
      "P_IOTLB_INV gran=psi did=2 addr=0x4000 am=2",
    ],
    ["CT-2", { addr: 0n, pages: U64_MAX, mask: 52, ih: 0 }, "P_IOTLB_INV gran=pasid did=2"],
    // CT-2/3 pass 2^52 pages for the nested "all" entry: a PSI with AM 52, not all-in-PASID.
    ["CT-2", { addr: 0n, pages: 1n << 52n, mask: 52, ih: 0 }, "P_IOTLB_INV gran=psi did=2 am=52"],
  ];
  for (const [v, r, want] of rows) {
    await t.step(`${v} ${want}`, () => {
      const x = oneTag({ variant: v, kind: "fs_paging" });
      assert.deepEqual(x.run(() => cacheTagFlushIotlb(x.D, x.iotlb, r)), [
        `dmar0: ${want}`,
        "dmar0: INV_WAIT",
      ]);
    });
  }
});

Deno.test("cacheTagFlushIotlb() skips a zero page count silently when batched", () => {
  const x = oneTag({ variant: "CT-2", kind: "fs_paging" });
  const ev = during(
    x.w.log,
    () => cacheTagFlushIotlb(x.D, x.iotlb, { addr: 0n, pages: 0n, mask: 0, ih: 0 }),
  );
  assert.deepEqual(ev, []);
  const y = oneTag({ variant: "CT-1", kind: "fs_paging" });
  const ev1 = during(
    y.w.log,
    () => cacheTagFlushIotlb(y.D, y.iotlb, { addr: 0n, pages: 0n, mask: 0, ih: 0 }),
  );
  assert.deepEqual(ev1, [{ kind: "warn", fn: "qi_flush_piotlb", what: "WARN_ON(!npages)" }]);
});

Deno.test("cacheTagFlushIotlb() uses the IOTLB registers on a unit without queued invalidation", () => {
  const x = oneTag({ caps: ["psi", "smts", "slts"] });
  const ev = during(
    x.w.log,
    () => cacheTagFlushIotlb(x.D, x.iotlb, { addr: 0x4000n, pages: 4n, mask: 2, ih: 1 }),
  );
  assert.deepEqual(cmds(ev), []);
  assert.deepEqual(traces(ev, "__iommu_flush_iotlb"), [
    { iommu: "dmar0", did: 2, addr: 0x4001n, size_order: 2, gran: 3 },
  ]);
});

Deno.test("cacheTagFlushDevtlbPsi() carries sid, pfsid, qdep and the PASID form", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0", { extra: ["dit"] });
  const vf = w.dev(dmar0, {
    name: "vf",
    sid: 0x381,
    pfsid: 0x300,
    ats: true,
    pasid: true,
    qdep: 8,
  });
  const D = w.domain("D", { kind: "fs_paging" });
  iommuAttachDevice(D, vf);
  iommuAttachDevicePasid(D, vf, { pasid: 9 });
  const [, rid, , pasid] = D.cacheTags;
  const ev = during(w.log, () => {
    cacheTagFlushDevtlbPsi(D, rid, { addr: 0x4000n, mask: 2 });
    cacheTagFlushDevtlbPsi(D, pasid, { addr: 0x4000n, mask: 2 });
    qiBatchFlushDescs(dmar0, D.qiBatch);
  });
  assert.deepEqual(cmds(ev), [
    "dmar0: DEV_TLB_INV sid=0x381 pfsid=0x300 qdep=8 addr=0x4000 mask=2",
    "dmar0: P_DEV_TLB_INV sid=0x381 pfsid=0x300 pasid=0x9 qdep=8 addr=0x4000 size_order=2",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("cacheTagFlushDevtlbPsi() sends nothing while translation is disabled", () => {
  const x = oneTag({});
  x.dmar0.translationEnabled = false;
  assert.deepEqual(x.run(() => cacheTagFlushDevtlbPsi(x.D, x.devtlb, { addr: 0n, mask: 0 })), []);
});

Deno.test("cacheTagFlushDevtlbAll() uses the non-PASID form, twice for quirky endpoints", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true, extraDtlbFlush: true });
  const D = w.domain("D", { kind: "fs_paging", variant: "CT-2" });
  iommuAttachDevicePasid(D, A, { pasid: 3 });
  const ev = during(w.log, () => {
    cacheTagFlushDevtlbAll(D, D.cacheTags[1]);
    qiBatchFlushDescs(dmar0, D.qiBatch);
  });
  assert.deepEqual(cmds(ev), [
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: INV_WAIT",
  ]);
});
