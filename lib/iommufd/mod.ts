/**
 * iommufd's IOMMU_HWPT_INVALIDATE: the uAPI as bytes in a simulated process memory, the
 * ioctl envelope, the copy helpers with their errno rules, the core handler in both forms
 * (`"driver-loop"` before the series "iommufd: Iterate the cache invalidation array in the
 * core", `"core-loop"` with it), and the objects a scenario declares (IOAS, devices, paging
 * and nested HWPTs, vIOMMUs, vDEVICEs). The driver ops it dispatches to live in
 * `lib/drivers/selftest/`, `lib/drivers/arm-smmu-v3/vsmmu.ts` and `lib/drivers/intel/nested.ts`.
 *
 * @example Invalidate two slots of a selftest nested HWPT
 * ```ts
 * import { eventLogCreate } from "../events.ts";
 * import {
 *   hwptAllocNested,
 *   hwptAllocPaging,
 *   hwptInvalidate,
 *   hwptMockIotlb,
 *   ioasAlloc,
 *   iommufdCreate,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const fd = iommufdCreate(eventLogCreate());
 * const parent = hwptAllocPaging(fd, { ioasId: ioasAlloc(fd), nestParent: true });
 * const nested = hwptAllocNested(fd, { parentId: parent, data: { driver: "selftest" } });
 * const r = hwptInvalidate(fd, {
 *   hwptId: nested,
 *   entries: [{ kind: "selftest", iotlbId: 1 }, { kind: "selftest", iotlbId: 9 }],
 * }, { variant: "core-loop" });
 * assert.equal(r.rc, "EINVAL"); // slot 9 does not exist
 * assert.equal(r.entryNum, 1); // the first entry was handled
 * assert.equal(r.opCalls, 2); // the converted mock handles one entry per call
 * assert.deepEqual(hwptMockIotlb(fd, nested), [0xbadbeef, 0, 0xbadbeef, 0xbadbeef]);
 * ```
 *
 * @module
 */

export {
  type ArmDevice,
  type ArmNestedDomain,
  type BoundDevice,
  type Iommufd,
  iommufdCreate,
  type IommufdObject,
  type NestedDomain,
  objectDestroy,
  objectGet,
  type ObjectOf,
  type ObjectType,
  type ViommuDriver,
} from "./ctx.ts";
export { deviceBind, deviceMockCache, type DeviceSpec, ioasAlloc } from "./device.ts";
export { type Errno, ERRNO_NUMBERS, isErrno, type Rc } from "./errno.ts";
export {
  hwptAllocNested,
  hwptAllocPaging,
  hwptMockIotlb,
  type NestedSpec,
} from "./hw_pagetable.ts";
export {
  hwptInvalidateLoop,
  hwptInvalidateOnce,
  type HwptInvalidateOptions,
  type HwptInvalidateResult,
  hwptInvalidateUcmd,
  type OpCall,
} from "./hwpt_invalidate.ts";
export {
  type CacheInvalidateOp,
  cacheInvalidatePerEntry,
  entriesPerCall,
  IOMMUFD_DEFAULT_VARIANT,
  IOMMUFD_VARIANTS,
  type IommufdVariant,
  type OpContext,
} from "./invalidate_op.ts";
export { type IoctlRequest, type IoctlResult, iommufdIoctl, ucmdRespond } from "./ioctl.ts";
export { KMALLOC_MAX_SIZE } from "./kmalloc.ts";
export {
  entriesEncode,
  ENTRY_KINDS,
  type EntryKind,
  hwptInvalidate,
  type InvalidateEntry,
  type InvalidateRequest,
  type InvalidateResult,
  REQUEST_CMD_ADDR,
  REQUEST_DATA_ADDR,
} from "./request.ts";
export {
  checkZeroedUser,
  copyFromUser,
  copyStructFromUser,
  copyToUser,
  getUser32,
} from "./uaccess.ts";
export {
  ARM_SMMUV3_INVALIDATE_SIZE,
  HWPT_INVALIDATE_SIZE,
  type HwptInvalidateCmd,
  hwptInvalidateDecode,
  hwptInvalidateEncode,
  ioctlIo,
  IOMMU_HWPT_INVALIDATE,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
  IOMMU_VTD_INV_FLAGS_LEAF,
  IOMMUFD_TYPE,
  type VtdS1Invalidate,
} from "./uapi.ts";
export {
  type CopyContext,
  copyStructFromFullUserArray,
  copyStructFromUserArray,
  copyStructFromUserData,
  type KStruct,
  type UserDataArray,
} from "./user_data.ts";
export {
  type Access,
  PAGE_SIZE,
  type UserMem,
  userMemCreate,
  userMemMap,
  userMemPoke,
  userMemRead,
  userMemUnmap,
  userMemWrite,
} from "./user_mem.ts";
export { vdeviceAlloc, viommuAlloc, type ViommuSpec } from "./viommu.ts";
// The driver types the API above mentions (EventLog, Cmd and SmmuDevice come from the
// top-level mod.ts).
export type { CmdqFault } from "../drivers/arm-smmu-v3/vsmmu.ts";
export type { FlushRequest, IntelNestedDomain, VtdFlush } from "../drivers/intel/nested.ts";
