import assert from "node:assert/strict";
import {
  PT_REQUEST_OPS,
  ptIsRequest,
  ptRequests,
  type PtStep,
} from "../../../lib/pgtable/steps.ts";

Deno.test("ptRequests() keeps the driver calls in order and drops table writes", () => {
  const steps: PtStep[] = [
    { op: "table_clear", table: 2, index: 1, level: 2, iova: 0x200000n, size: 0x200000n, child: 3 },
    { op: "flush_walk", iova: 0x200000n, size: 0x200000n, granule: 0x1000n },
    { op: "table_free", table: 3, pa: 0x1000n, level: 3 },
    { op: "iotlb_sync_map", iova: 0n, size: 0x1000n },
    { op: "flush_all" },
  ];
  assert.deepEqual(ptRequests(steps).map((s) => s.op), [
    "flush_walk",
    "iotlb_sync_map",
    "flush_all",
  ]);
  assert.equal(ptIsRequest(steps[0]), false);
  assert.deepEqual([...PT_REQUEST_OPS].sort(), [
    "flush_all",
    "flush_walk",
    "iotlb_sync",
    "iotlb_sync_map",
  ]);
});
