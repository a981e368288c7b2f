/**
 * The selftest uAPI of the iommufd mock driver: invalidation data types, the two entry
 * structs (nested HWPT, 8 bytes; vIOMMU, 12 bytes) as C lays them out, and the mock cache
 * sizes and default values. Models drivers/iommu/iommufd/iommufd_test.h at mainline
 * (80478a2b450e).
 * @module
 */

/** `IOMMU_HWPT_INVALIDATE_DATA_SELFTEST`: the mock nested HWPT's data type. */
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
/** `IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID`: accepted by nobody. */
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
/** `IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST`: same number; the object type decides. */
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
/** `IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID`. */
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;

/** `IOMMU_TEST_INVALIDATE_FLAG_ALL`: every slot, whatever the index says. */
export const IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0;

/** `MOCK_NESTED_DOMAIN_IOTLB_NUM`. */
export const MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
/** `MOCK_NESTED_DOMAIN_IOTLB_ID_MAX`. */
export const MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3;
/** `MOCK_DEV_CACHE_NUM`. */
export const MOCK_DEV_CACHE_NUM = 4;
/** `MOCK_DEV_CACHE_ID_MAX`. */
export const MOCK_DEV_CACHE_ID_MAX = 3;
/** `IOMMU_TEST_IOTLB_DEFAULT`: what the selftest allocates nested HWPTs with. */
export const IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
/** `IOMMU_TEST_DEV_CACHE_DEFAULT`: every mock device cache slot at creation. */
export const IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;

/** `struct iommu_hwpt_invalidate_selftest`. */
export interface HwptInvalidateSelftest {
  /** `flags`: `IOMMU_TEST_INVALIDATE_FLAG_*`. */
  readonly flags: number;
  /** `iotlb_id`: IOTLB slot. */
  readonly iotlbId: number;
}

/** `sizeof` and `offsetofend(iotlb_id)`. */
export const HWPT_INVALIDATE_SELFTEST = { size: 8, minLen: 8 } as const;

/** Encodes one nested-HWPT entry. */
export function hwptInvalidateSelftestEncode(e: HwptInvalidateSelftest): Uint8Array {
  const out = new Uint8Array(HWPT_INVALIDATE_SELFTEST.size);
  const v = new DataView(out.buffer);
  v.setUint32(0, e.flags, true);
  v.setUint32(4, e.iotlbId, true);
  return out;
}

/** Decodes one nested-HWPT entry from a kernel-sized buffer. */
export function hwptInvalidateSelftestDecode(bytes: Uint8Array): HwptInvalidateSelftest {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HWPT_INVALIDATE_SELFTEST.size);
  return { flags: v.getUint32(0, true), iotlbId: v.getUint32(4, true) };
}

/** `struct iommu_viommu_invalidate_selftest`. */
export interface ViommuInvalidateSelftest {
  /** `flags`: `IOMMU_TEST_INVALIDATE_FLAG_*`. */
  readonly flags: number;
  /** `vdev_id`: the vDEVICE's virtual ID. */
  readonly vdevId: number;
  /** `cache_id`: device cache slot. */
  readonly cacheId: number;
}

/** `sizeof(struct iommu_viommu_invalidate_selftest)`. */
export const VIOMMU_INVALIDATE_SELFTEST_SIZE = 12;

/** Encodes one vIOMMU entry. */
export function viommuInvalidateSelftestEncode(e: ViommuInvalidateSelftest): Uint8Array {
  const out = new Uint8Array(VIOMMU_INVALIDATE_SELFTEST_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, e.flags, true);
  v.setUint32(4, e.vdevId, true);
  v.setUint32(8, e.cacheId, true);
  return out;
}

/** Decodes one vIOMMU entry from a kernel-sized buffer. */
export function viommuInvalidateSelftestDecode(bytes: Uint8Array): ViommuInvalidateSelftest {
  const v = new DataView(bytes.buffer, bytes.byteOffset, VIOMMU_INVALIDATE_SELFTEST_SIZE);
  return {
    flags: v.getUint32(0, true),
    vdevId: v.getUint32(4, true),
    cacheId: v.getUint32(8, true),
  };
}
