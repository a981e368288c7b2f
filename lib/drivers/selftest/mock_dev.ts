/**
 * The iommufd selftest's mock device: what the mock vIOMMU invalidates is its four-slot
 * device cache (standing in for an ATC or a descriptor cache).
 * Models `struct mock_dev` and mock_dev_create() in drivers/iommu/iommufd/selftest.c at
 * mainline (576ad6eb45d6).
 * @module
 */

import { IOMMU_TEST_DEV_CACHE_DEFAULT, MOCK_DEV_CACHE_NUM } from "./iommufd_test.ts";

/** `struct mock_dev`, as far as invalidation reaches it. */
export interface MockDev {
  /** Which driver probed the device. */
  readonly driver: "selftest";
  /** `cache[MOCK_DEV_CACHE_NUM]`: u32 slots, 0 once invalidated. */
  readonly cache: number[];
}

/** Follows mock_dev_create(): every cache slot starts at `IOMMU_TEST_DEV_CACHE_DEFAULT`. */
export function mockDevCreate(): MockDev {
  return {
    driver: "selftest",
    cache: new Array(MOCK_DEV_CACHE_NUM).fill(IOMMU_TEST_DEV_CACHE_DEFAULT),
  };
}
