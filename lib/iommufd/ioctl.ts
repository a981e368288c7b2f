/**
 * The iommufd ioctl envelope around IOMMU_HWPT_INVALIDATE: read the user's `size`, look the
 * ioctl up, check `size` against the struct, copy the struct in (a longer struct needs an
 * all-zero tail), run the handler, copy the struct back. Only IOMMU_HWPT_INVALIDATE is
 * modelled; another iommufd ioctl is a `RangeError`, anything else ENOTTY.
 * Models iommufd_fops_ioctl() and iommufd_ucmd_respond() in drivers/iommu/iommufd/main.c,
 * and the VFS turning ENOIOCTLCMD into ENOTTY, at mainline.
 * @module
 */

import type { Iommufd } from "./ctx.ts";
import type { Rc } from "./errno.ts";
import {
  type HwptInvalidateOptions,
  type HwptInvalidateResult,
  hwptInvalidateUcmd,
} from "./hwpt_invalidate.ts";
import {
  HWPT_INVALIDATE_SIZE,
  hwptInvalidateDecode,
  hwptInvalidateEncode,
  ioctlIo,
  IOMMU_HWPT_INVALIDATE,
  IOMMUFD_CMD_BASE,
  IOMMUFD_CMD_LAST,
  IOMMUFD_TYPE,
} from "./uapi.ts";
import { copyStructFromUser, copyToUser, getUser32 } from "./uaccess.ts";

/** One ioctl() on the iommufd. */
export interface IoctlRequest {
  /** The ioctl number (`IOMMU_HWPT_INVALIDATE`). */
  readonly cmd: number;
  /** The argument: user address of the command struct. */
  readonly arg: bigint;
}

/** What the ioctl returned, and what the handler did if it ran. */
export interface IoctlResult {
  /** `0`, or the errno ioctl() fails with. */
  readonly rc: Rc;
  /** The handler's work; absent when the envelope failed before it. */
  readonly handler?: HwptInvalidateResult;
}

function isOtherIommufdIoctl(cmd: number): boolean {
  const nr = cmd & 0xff;
  return nr >= IOMMUFD_CMD_BASE && nr <= IOMMUFD_CMD_LAST && cmd === ioctlIo(IOMMUFD_TYPE, nr);
}

/**
 * Follows iommufd_ucmd_respond(): copies `min(user size, sizeof)` bytes of the kernel struct
 * back; a fault makes the whole ioctl EFAULT.
 */
export function ucmdRespond(
  fd: Iommufd,
  ucmd: { readonly ubuffer: bigint; readonly userSize: number },
  kbuf: Uint8Array,
): 0 | "EFAULT" {
  return copyToUser(fd.mem, ucmd.ubuffer, kbuf.subarray(0, Math.min(ucmd.userSize, kbuf.length)));
}

/**
 * Follows iommufd_fops_ioctl() for IOMMU_HWPT_INVALIDATE: `size` unreadable is EFAULT; an
 * unknown ioctl ENOTTY; `size` below 32 EINVAL; a non-zero byte past the struct E2BIG; then
 * the handler, whose `entry_num` is copied back even when it failed (EFAULT if that copy
 * faults, whatever the handler returned).
 */
export function iommufdIoctl(
  fd: Iommufd,
  req: IoctlRequest,
  opts: HwptInvalidateOptions = {},
): IoctlResult {
  const userSize = getUser32(fd.mem, req.arg);
  if (userSize === "EFAULT") return { rc: userSize };
  if (req.cmd !== IOMMU_HWPT_INVALIDATE) {
    if (isOtherIommufdIoctl(req.cmd)) {
      throw new RangeError(`Cannot run ioctl 0x${req.cmd.toString(16)}: not modelled`);
    }
    return { rc: "ENOTTY" };
  }
  if (userSize < HWPT_INVALIDATE_SIZE) return { rc: "EINVAL" };
  const kbuf = copyStructFromUser(fd.mem, req.arg, {
    ksize: HWPT_INVALIDATE_SIZE,
    usize: userSize,
  });
  if (typeof kbuf === "string") return { rc: kbuf };
  const cmd = hwptInvalidateDecode(kbuf);
  const handler = hwptInvalidateUcmd(fd, cmd, opts);
  const out = hwptInvalidateEncode({ ...cmd, entryNum: handler.entryNum });
  const respond = ucmdRespond(fd, { ubuffer: req.arg, userSize }, out);
  return { rc: respond === 0 ? handler.rc : respond, handler };
}
