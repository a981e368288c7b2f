/**
 * Return codes of the iommufd paths as user space sees them: `0`, or the name of the errno
 * the ioctl fails with (the kernel returns it negated; `ioctl()` returns -1 and sets it).
 * Linux generic errno numbers, include/uapi/asm-generic/errno-base.h and errno.h.
 * @module
 */

/** Errno numbers of every errno the iommufd models can return. */
export const ERRNO_NUMBERS = {
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOTTY: 25,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

/** One errno name, e.g. `"EINVAL"` for `-EINVAL`. */
export type Errno = keyof typeof ERRNO_NUMBERS;

/** What a kernel function returns: `0` for success, or the errno it fails with. */
export type Rc = 0 | Errno;

/** True when `x` names an errno the models know. */
export function isErrno(x: unknown): x is Errno {
  return typeof x === "string" && Object.hasOwn(ERRNO_NUMBERS, x);
}
