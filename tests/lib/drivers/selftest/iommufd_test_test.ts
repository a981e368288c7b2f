import assert from "node:assert/strict";
import {
  HWPT_INVALIDATE_SELFTEST,
  hwptInvalidateSelftestDecode,
  hwptInvalidateSelftestEncode,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
  VIOMMU_INVALIDATE_SELFTEST_SIZE,
  viommuInvalidateSelftestDecode,
  viommuInvalidateSelftestEncode,
} from "../../../../lib/drivers/selftest/mod.ts";

Deno.test("hwptInvalidateSelftestEncode() is flags@0, iotlb_id@4 (8 bytes)", () => {
  const b = hwptInvalidateSelftestEncode({ flags: 1, iotlbId: 3 });
  assert.deepEqual([...b], [1, 0, 0, 0, 3, 0, 0, 0]);
  assert.equal(HWPT_INVALIDATE_SELFTEST.size, b.length);
  assert.deepEqual(hwptInvalidateSelftestDecode(b), { flags: 1, iotlbId: 3 });
});

Deno.test("viommuInvalidateSelftestEncode() is flags@0, vdev_id@4, cache_id@8 (12 bytes)", () => {
  const b = viommuInvalidateSelftestEncode({ flags: 1, vdevId: 0x99, cacheId: 2 });
  assert.deepEqual([...b], [1, 0, 0, 0, 0x99, 0, 0, 0, 2, 0, 0, 0]);
  assert.equal(VIOMMU_INVALIDATE_SELFTEST_SIZE, b.length);
  assert.deepEqual(viommuInvalidateSelftestDecode(b), { flags: 1, vdevId: 0x99, cacheId: 2 });
});

Deno.test("the HWPT and vIOMMU selftest data types share one number", () => {
  assert.equal(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0xdeadbeef);
  assert.equal(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
});
