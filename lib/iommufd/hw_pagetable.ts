/**
 * HWPTs a scenario declares: a paging HWPT on an IOAS (optionally a nest parent) and nested
 * HWPTs on a nest parent or a vIOMMU, each with its driver's nested domain (selftest mock
 * with its IOTLB slots, VT-d stage-1, ARM). Models iommufd_hwpt_paging_alloc() and
 * iommufd_hwpt_nested_alloc() / iommufd_viommu_alloc_hwpt_nested() in
 * drivers/iommu/iommufd/hw_pagetable.c at mainline, as declarations: what the kernel would
 * refuse is a `TypeError` here, because a scenario that needs it is written wrong.
 * @module
 */

import { mockDomainAllocNested } from "../drivers/selftest/mock_nested.ts";
import { IOMMU_TEST_IOTLB_DEFAULT } from "../drivers/selftest/iommufd_test.ts";
import { type Iommufd, type NestedDomain, objectAdd, objectExpect } from "./ctx.ts";

/** The driver data of a nested HWPT. */
export type NestedSpec =
  /** A selftest mock nested domain (`IOMMU_HWPT_DATA_SELFTEST`, `struct iommu_hwpt_selftest`). */
  | { readonly driver: "selftest"; readonly iotlb?: number }
  /** A VT-d stage-1 nested domain, named for traces and for the VT-d model. */
  | { readonly driver: "intel"; readonly name: string }
  /** An ARM nested domain (allocated on an ARM vIOMMU). */
  | { readonly driver: "arm-smmu-v3" };

/** Follows iommufd_hwpt_paging_alloc(): a paging HWPT on `ioasId`; returns its ID. */
export function hwptAllocPaging(
  fd: Iommufd,
  opts: { readonly ioasId: number; readonly nestParent?: boolean },
): number {
  objectExpect(fd, opts.ioasId, "IOAS");
  const nestParent = opts.nestParent ?? false;
  return objectAdd(fd, (id) => ({ type: "HWPT_PAGING", id, ioasId: opts.ioasId, nestParent }));
}

// A nested HWPT sits on a nest-parent paging HWPT or on a vIOMMU (whose driver must match).
function nestedParentCheck(fd: Iommufd, parentId: number, spec: NestedSpec): void {
  const parent = fd.objects.get(parentId);
  if (parent?.type === "HWPT_PAGING" && parent.nestParent && spec.driver !== "arm-smmu-v3") {
    return;
  }
  if (parent?.type === "VIOMMU" && parent.viommu.driver === spec.driver) return;
  const what = parent ? `a ${parent.type}` : "nothing";
  throw new TypeError(
    `Cannot allocate a ${spec.driver} nested HWPT on object ${parentId}: it is ${what}; ` +
      (spec.driver === "arm-smmu-v3"
        ? "use an arm-smmu-v3 vIOMMU"
        : "use a nest-parent paging HWPT or a vIOMMU of the same driver"),
  );
}

/**
 * Follows iommufd_hwpt_nested_alloc(): a nested HWPT with its driver's domain; a selftest
 * domain starts every IOTLB slot at `iotlb` (default `IOMMU_TEST_IOTLB_DEFAULT`). Returns
 * its ID.
 */
export function hwptAllocNested(
  fd: Iommufd,
  opts: { readonly parentId: number; readonly data: NestedSpec },
): number {
  const { parentId, data } = opts;
  nestedParentCheck(fd, parentId, data);
  const domain: NestedDomain = data.driver === "selftest"
    ? mockDomainAllocNested(data.iotlb ?? IOMMU_TEST_IOTLB_DEFAULT)
    : data.driver === "intel"
    ? { driver: "intel", name: data.name }
    : { driver: "arm-smmu-v3" };
  return objectAdd(fd, (id) => ({ type: "HWPT_NESTED", id, parentId, domain }));
}

/** The mock IOTLB of a selftest nested HWPT (what IOMMU_TEST_OP_MD_CHECK_IOTLB reads). */
export function hwptMockIotlb(fd: Iommufd, hwptId: number): readonly number[] {
  const obj = objectExpect(fd, hwptId, "HWPT_NESTED");
  if (obj.domain.driver !== "selftest") {
    throw new TypeError(`Cannot read the mock IOTLB of HWPT ${hwptId}: it is ${obj.domain.driver}`);
  }
  return obj.domain.iotlb;
}
