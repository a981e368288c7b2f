/**
 * The IOMMU_HWPT_INVALIDATE uAPI as bytes: the ioctl number, `struct iommu_hwpt_invalidate`,
 * the invalidation data types, and the VT-d stage-1 and ARM SMMUv3 entry structs, laid out
 * exactly as C lays them out on a little-endian 64-bit machine (x86-64, arm64).
 * Models include/uapi/linux/iommufd.h at mainline (b4d90dbc4c1b).
 * @module
 */

/** `IOMMUFD_TYPE` (`';'`). */
export const IOMMUFD_TYPE = 0x3b;
/** `IOMMUFD_CMD_BASE`: the first iommufd ioctl number. */
export const IOMMUFD_CMD_BASE = 0x80;
/** `IOMMUFD_CMD_HW_QUEUE_ALLOC`: the last iommufd ioctl number in the modelled uAPI. */
export const IOMMUFD_CMD_LAST = 0x94;
/** `IOMMUFD_CMD_HWPT_INVALIDATE`. */
export const IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d;

/** `_IO(type, nr)`: an ioctl number without direction or size bits. */
export function ioctlIo(type: number, nr: number): number {
  return (type << 8) | nr;
}

/** `IOMMU_HWPT_INVALIDATE` = `_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)` = 0x3b8d. */
export const IOMMU_HWPT_INVALIDATE: number = ioctlIo(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE);

/** `enum iommu_hwpt_invalidate_data_type` (the selftest values are in iommufd_test.h). */
export const IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0;
/** `IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3`. */
export const IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1;

/** `sizeof(struct iommu_hwpt_invalidate)`; also its `min_size` (`offsetofend(__reserved)`). */
export const HWPT_INVALIDATE_SIZE = 32;

/** `struct iommu_hwpt_invalidate`, field by field. */
export interface HwptInvalidateCmd {
  /** `size`: the user's idea of sizeof(struct). */
  readonly size: number;
  /** `hwpt_id`: a nested HWPT or a vIOMMU. */
  readonly hwptId: number;
  /** `data_uptr`: user address of the entry array. */
  readonly dataUptr: bigint;
  /** `data_type`: one `enum iommu_hwpt_invalidate_data_type` value for all entries. */
  readonly dataType: number;
  /** `entry_len`: bytes per entry. */
  readonly entryLen: number;
  /** `entry_num`: entries in; entries handled out. */
  readonly entryNum: number;
  /** `__reserved`: must be 0. */
  readonly reserved: number;
}

/** Encodes the 32-byte struct. */
export function hwptInvalidateEncode(cmd: HwptInvalidateCmd): Uint8Array {
  const out = new Uint8Array(HWPT_INVALIDATE_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, cmd.size, true);
  v.setUint32(4, cmd.hwptId, true);
  v.setBigUint64(8, cmd.dataUptr, true);
  v.setUint32(16, cmd.dataType, true);
  v.setUint32(20, cmd.entryLen, true);
  v.setUint32(24, cmd.entryNum, true);
  v.setUint32(28, cmd.reserved, true);
  return out;
}

/** Decodes the 32-byte struct (extra bytes are ignored). */
export function hwptInvalidateDecode(bytes: Uint8Array): HwptInvalidateCmd {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HWPT_INVALIDATE_SIZE);
  return {
    size: v.getUint32(0, true),
    hwptId: v.getUint32(4, true),
    dataUptr: v.getBigUint64(8, true),
    dataType: v.getUint32(16, true),
    entryLen: v.getUint32(20, true),
    entryNum: v.getUint32(24, true),
    reserved: v.getUint32(28, true),
  };
}

/** `IOMMU_VTD_INV_FLAGS_LEAF`: only leaf PTEs changed. */
export const IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0;

/** `struct iommu_hwpt_vtd_s1_invalidate`: 24 bytes, all fields first-release. */
export interface VtdS1Invalidate {
  /** `addr`: start, 4 KiB aligned. */
  readonly addr: bigint;
  /** `npages`: 4 KiB pages; U64_MAX with addr 0 means everything. */
  readonly npages: bigint;
  /** `flags`: `IOMMU_VTD_INV_FLAGS_*`. */
  readonly flags: number;
  /** `__reserved`: must be 0. */
  readonly reserved: number;
}

/** `sizeof` and `offsetofend(__reserved)` of the VT-d entry. */
export const VTD_S1_INVALIDATE = { size: 24, minLen: 24 } as const;

/** Encodes one VT-d entry. */
export function vtdS1InvalidateEncode(e: VtdS1Invalidate): Uint8Array {
  const out = new Uint8Array(VTD_S1_INVALIDATE.size);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, e.addr, true);
  v.setBigUint64(8, e.npages, true);
  v.setUint32(16, e.flags, true);
  v.setUint32(20, e.reserved, true);
  return out;
}

/** Decodes one VT-d entry from a kernel-sized buffer. */
export function vtdS1InvalidateDecode(bytes: Uint8Array): VtdS1Invalidate {
  const v = new DataView(bytes.buffer, bytes.byteOffset, VTD_S1_INVALIDATE.size);
  return {
    addr: v.getBigUint64(0, true),
    npages: v.getBigUint64(8, true),
    flags: v.getUint32(16, true),
    reserved: v.getUint32(20, true),
  };
}

/** `sizeof(struct iommu_viommu_arm_smmuv3_invalidate)`: one raw 16-byte command. */
export const ARM_SMMUV3_INVALIDATE_SIZE = 16;

/** Encodes one ARM entry: `cmd[0]`, `cmd[1]` as le64. */
export function armSmmuv3InvalidateEncode(words: readonly [bigint, bigint]): Uint8Array {
  const out = new Uint8Array(ARM_SMMUV3_INVALIDATE_SIZE);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, words[0], true);
  v.setBigUint64(8, words[1], true);
  return out;
}

/** Decodes one ARM entry (`le64_to_cpu` of both words). */
export function armSmmuv3InvalidateDecode(bytes: Uint8Array): [bigint, bigint] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, ARM_SMMUV3_INVALIDATE_SIZE);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
}
