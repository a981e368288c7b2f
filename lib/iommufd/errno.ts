/**
 * Return codes of the iommufd paths as user space sees them: `0`, or the name of the errno
 * the ioctl fails with (the kernel returns it negated; `ioctl()` returns -1 and sets it).
 * Linux generic errno numbers, include/uapi/asm-generic/errno-base.h and errno.h.
 * @module
 */

import type { Errno } from "../errno.ts";

export { type Errno, ERRNO_NUMBERS, isErrno } from "../errno.ts";

/** What a kernel function returns: `0` for success, or the errno it fails with. */
export type Rc = 0 | Errno;
