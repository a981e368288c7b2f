/**
 * The iommufd selftest's mock nested domain: four IOTLB slots that hold the value given at
 * allocation and read 0 once invalidated, and its `cache_invalidate_user` op in both forms
 * (whole array before the core-loop series, one entry per call after it).
 * Models drivers/iommu/iommufd/selftest.c at mainline (576ad6eb45d6) and, for the converted
 * op, patch 3/5 of the series (5519695903a4; code not seen, form inferred from the cover
 * letter: same checks, same order, a bounded chunk per call).
 * @module
 */

import type { Rc } from "../../iommufd/errno.ts";
import { cacheInvalidatePerEntry, type OpContext } from "../../iommufd/invalidate_op.ts";
import type { UserDataArray } from "../../iommufd/user_data.ts";
import {
  HWPT_INVALIDATE_SELFTEST,
  hwptInvalidateSelftestDecode,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_TEST_INVALIDATE_FLAG_ALL,
  MOCK_NESTED_DOMAIN_IOTLB_ID_MAX,
  MOCK_NESTED_DOMAIN_IOTLB_NUM,
} from "./iommufd_test.ts";

/** `struct mock_iommu_domain_nested`: the mock IOTLB. */
export interface MockNestedDomain {
  /** Which driver's nested domain this is. */
  readonly driver: "selftest";
  /** `iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM]`: u32 slots, 0 once invalidated. */
  readonly iotlb: number[];
}

/** Follows __mock_domain_alloc_nested(): every IOTLB slot starts at the user's `iotlb`. */
export function mockDomainAllocNested(iotlb: number): MockNestedDomain {
  return { driver: "selftest", iotlb: new Array(MOCK_NESTED_DOMAIN_IOTLB_NUM).fill(iotlb >>> 0) };
}

// One entry, after it was copied: flags first, then the slot index, which is range-checked
// even when FLAG_ALL makes it irrelevant.
function mockNestedApply(domain: MockNestedDomain, bytes: Uint8Array): Rc {
  const inv = hwptInvalidateSelftestDecode(bytes);
  if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) return "EOPNOTSUPP";
  if (inv.iotlbId > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) return "EINVAL";
  if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) domain.iotlb.fill(0);
  else domain.iotlb[inv.iotlbId] = 0;
  return 0;
}

/**
 * Follows mock_domain_cache_invalidate_user(): the type is checked before anything (so a
 * zero-length probe with the wrong type fails), then entries are copied one at a time with
 * the per-entry helper (entry_len must be exactly 8) and applied in order. The first error
 * stops the walk; entries applied before it stay applied and are counted.
 */
export function mockDomainCacheInvalidateUser(
  domain: MockNestedDomain,
  array: UserDataArray,
  ctx: OpContext,
): Rc {
  return cacheInvalidatePerEntry(array, ctx, {
    dataType: IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
    kstruct: HWPT_INVALIDATE_SELFTEST,
    apply: (bytes) => mockNestedApply(domain, bytes),
  });
}
