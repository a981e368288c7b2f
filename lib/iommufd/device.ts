/**
 * Devices and IO address spaces a scenario declares: a bound device (a selftest mock device
 * with its cache, or a device behind an SMMUv3 with its stream IDs) and an IOAS. Only what
 * the invalidation paths read is kept. Models iommufd_device_bind() (device.c) and
 * iommufd_ioas_alloc_ioctl() (ioas.c) at mainline, as declarations rather than ioctls.
 * @module
 */

import { mockDevCreate } from "../drivers/selftest/mock_dev.ts";
import { type Iommufd, objectAdd } from "./ctx.ts";

/** What to bind: a selftest mock device, or a device behind an SMMUv3. */
export type DeviceSpec =
  | { readonly driver: "selftest" }
  | { readonly driver: "arm-smmu-v3"; readonly sids: readonly number[] };

/** Follows iommufd_device_bind(): a DEVICE object; returns its ID. */
export function deviceBind(fd: Iommufd, spec: DeviceSpec): number {
  const dev = spec.driver === "selftest"
    ? mockDevCreate()
    : { driver: spec.driver, sids: [...spec.sids] };
  return objectAdd(fd, (id) => ({ type: "DEVICE", id, dev }));
}

/** Follows iommufd_ioas_alloc_ioctl(): an IOAS object; returns its ID. */
export function ioasAlloc(fd: Iommufd): number {
  return objectAdd(fd, (id) => ({ type: "IOAS", id }));
}

/** The selftest device cache of a DEVICE object (what IOMMU_TEST_OP_DEV_CHECK_CACHE reads). */
export function deviceMockCache(fd: Iommufd, deviceId: number): readonly number[] {
  const obj = fd.objects.get(deviceId);
  if (obj?.type !== "DEVICE" || obj.dev.driver !== "selftest") {
    throw new TypeError(`Cannot read the mock cache of object ${deviceId}: not a mock device`);
  }
  return obj.dev.cache;
}
