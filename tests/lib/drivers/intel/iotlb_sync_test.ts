import assert from "node:assert/strict";
import { iommuAttachDevice } from "../../../../lib/drivers/intel/attach.ts";
import {
  intelFlushIotlbAll,
  intelIommuIotlbSyncMap,
  intelIommuTlbSync,
} from "../../../../lib/drivers/intel/iotlb_sync.ts";
import type { VtdVariant } from "../../../../lib/drivers/intel/variant.ts";
import type { VtdCap } from "../../../../lib/hw/vtd/iommu.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

function one(
  variant: VtdVariant = "CT-4",
  extra: VtdCap[] = [],
  kind: "ss_paging" | "fs_paging" = "ss_paging",
) {
  const w = world();
  const dmar0 = w.iommu("dmar0", { extra });
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true });
  const D = w.domain("D", { variant, kind });
  iommuAttachDevice(D, A);
  return { w, D };
}

// §B.7: ih is 1 when the gather freed no page-table pages.
Deno.test("intelIommuTlbSync() sets IH only when no page-table page was freed", async (t) => {
  for (const [freed, ih] of [[false, " ih"], [true, ""]] as const) {
    await t.step(`freelist ${freed ? "non-empty" : "empty"}`, () => {
      const { w, D } = one();
      const ev = during(
        w.log,
        () => intelIommuTlbSync(D, { start: 0x200000n, end: 0x3fffffn, freelistNonEmpty: freed }),
      );
      assert.deepEqual(cmds(ev), [
        `dmar0: IOTLB_INV gran=psi did=2 addr=0x200000 am=9${ih} dr dw`,
        "dmar0: DEV_TLB_INV sid=0x300 addr=0x200000 mask=9",
        "dmar0: INV_WAIT",
      ]);
    });
  }
});

Deno.test("intelFlushIotlbAll() flushes the domain's DID and the whole device-TLB", () => {
  const { w, D } = one();
  assert.deepEqual(cmds(during(w.log, () => intelFlushIotlbAll(D))), [
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("intelIommuIotlbSyncMap() flushes new second-stage mappings under caching mode", () => {
  const { w, D } = one("CT-4", ["caching_mode"]);
  assert.equal(D.iotlbSyncMap, true);
  const ev = during(w.log, () => intelIommuIotlbSyncMap(D, { iova: 0x40000n, size: 0x2000n }));
  assert.deepEqual(cmds(ev), [
    "dmar0: IOTLB_INV gran=psi did=2 addr=0x40000 am=1 dr dw",
    "dmar0: INV_WAIT",
  ]);
  assert.equal(traces(ev, "cache_tag_flush_range_np").length, 2);
});

// [ML-syncmap]: from v6.17 map only flushes on units in caching mode (second stage) or
// needing write-buffer flushes; before, every map walked the tags and flushed the write
// buffer where the unit needs it.
Deno.test("intelIommuIotlbSyncMap() is skipped from CT-3 unless the domain needs it", async (t) => {
  await t.step("CT-2 first stage on an RWBF unit: write-buffer flush per tag", () => {
    const { w, D } = one("CT-2", ["rwbf"], "fs_paging");
    const ev = during(w.log, () => intelIommuIotlbSyncMap(D, { iova: 0n, size: 0x1000n }));
    assert.equal(traces(ev, "iommu_flush_write_buffer").length, 2);
  });
  await t.step("CT-4 first stage on a caching-mode unit: nothing", () => {
    const { w, D } = one("CT-4", ["caching_mode"], "fs_paging");
    assert.equal(D.iotlbSyncMap, false);
    assert.deepEqual(
      during(w.log, () => intelIommuIotlbSyncMap(D, { iova: 0n, size: 0x1000n })),
      [],
    );
  });
});
