/**
 * The iommufd selftest mock driver as far as cache invalidation reaches it: the selftest
 * uAPI (data types, entry structs, cache sizes), the mock nested domain with its four IOTLB
 * slots, the mock device with its four cache slots, and both `cache_invalidate` ops in their
 * pre-series and converted forms.
 *
 * @example A mock vIOMMU op walking a two-entry array
 * ```ts
 * import { eventLogCreate } from "../../events.ts";
 * import { userMemCreate, userMemMap, userMemPoke } from "../../iommufd/mod.ts";
 * import {
 *   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
 *   mockDevCreate,
 *   mockViommuCacheInvalidate,
 *   viommuInvalidateSelftestEncode,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const mem = userMemCreate();
 * userMemMap(mem, 0x1000n, 24);
 * userMemPoke(mem, 0x1000n, viommuInvalidateSelftestEncode({ flags: 0, vdevId: 0x99, cacheId: 0 }));
 * userMemPoke(mem, 0x100cn, viommuInvalidateSelftestEncode({ flags: 0, vdevId: 0x99, cacheId: 4 }));
 * const dev = mockDevCreate();
 * const array = {
 *   type: IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
 *   uptr: 0x1000n,
 *   entryLen: 12,
 *   entryNum: 2,
 * };
 * const ctx = { mem, log: eventLogCreate(), variant: "driver-loop" } as const;
 * assert.equal(mockViommuCacheInvalidate(new Map([[0x99n, dev]]), array, ctx), "EINVAL");
 * assert.equal(array.entryNum, 1);
 * assert.deepEqual(dev.cache, [0, 0xbaddad, 0xbaddad, 0xbaddad]);
 * ```
 *
 * @module
 */

export * from "./iommufd_test.ts";
export { type MockDev, mockDevCreate } from "./mock_dev.ts";
export {
  mockDomainAllocNested,
  mockDomainCacheInvalidateUser,
  type MockNestedDomain,
} from "./mock_nested.ts";
export {
  type MockVdevs,
  mockViommuCacheInvalidate,
  mockViommuCacheInvalidateDriverLoop,
} from "./mock_viommu.ts";
