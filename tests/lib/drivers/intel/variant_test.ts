import assert from "node:assert/strict";
import {
  VARIANT_FEATURES,
  variantFeatures,
  VTD_VARIANTS,
} from "../../../../lib/drivers/intel/variant.ts";

// vtd-sva-pkvm.md §0 version map, one fact per row.
const FACTS: readonly [string, (v: (typeof VTD_VARIANTS)[number]) => boolean, string[]][] = [
  ["CT-2 introduced 16-descriptor batching", (v) => variantFeatures(v).batched, [
    "CT-2",
    "CT-3",
    "CT-4",
  ]],
  ["CT-2 keeps one unit's tags adjacent", (v) => variantFeatures(v).groupedInsert, [
    "CT-2",
    "CT-3",
    "CT-4",
  ]],
  ["CT-3 made flush_all a flush_range", (v) => variantFeatures(v).flushAllViaRange, [
    "CT-3",
    "CT-4",
  ]],
  ["CT-3 gated the _np flush on iotlb_sync_map", (v) => variantFeatures(v).syncMapGated, [
    "CT-3",
    "CT-4",
  ]],
  ["the 6.18 fix put IH in the IOTLB descriptor", (v) => variantFeatures(v).iotlbIh, ["CT-4"]],
  ["CT-4 passes size_order to qi_desc_piotlb", (v) => variantFeatures(v).piotlbSizeOrder, ["CT-4"]],
  ["CT-4 trace events lost pages", (v) => !variantFeatures(v).tracePages, ["CT-4"]],
  ["CT-3 used PIOTLB for FS paging only", (v) => variantFeatures(v).piotlb === "fs-paging", [
    "CT-3",
  ]],
  ["only pre-tags flushes SVA per device", (v) => variantFeatures(v).svaPerDevice, ["pre-tags"]],
];

Deno.test("VARIANT_FEATURES follows the version map", async (t) => {
  for (const [fact, test, want] of FACTS) {
    await t.step(fact, () => assert.deepEqual(VTD_VARIANTS.filter(test), want));
  }
  assert.deepEqual(Object.keys(VARIANT_FEATURES), [...VTD_VARIANTS]);
});
