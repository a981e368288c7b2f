/**
 * Kernel error returns as values: `0` for success, or `{ errno: "EINVAL" }` naming the
 * negative errno the kernel function returns. One list for every model; numbers are the
 * Linux generic ones (include/uapi/asm-generic/errno-base.h, errno.h).
 * @module
 */

/** Errno numbers of every errno a model can return. */
export const ERRNO_NUMBERS = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  ETIMEDOUT: 110,
} as const;

/** One errno name, e.g. `"EINVAL"` for `-EINVAL`. */
export type Errno = keyof typeof ERRNO_NUMBERS;

/** Every errno name. */
export const ERRNOS: readonly Errno[] = Object.keys(ERRNO_NUMBERS) as Errno[];

/** A failed call: the errno the kernel would return. */
export interface ErrnoValue {
  /** Errno name, e.g. `"EINVAL"` for `-EINVAL`. */
  readonly errno: Errno;
}

/** What a kernel function returns: `0` or an errno value. */
export type Ret = 0 | ErrnoValue;

/** An errno value. */
export function errno(e: Errno): ErrnoValue {
  return { errno: e };
}

/** True when `r` is an errno value rather than a result. */
export function isErr(r: unknown): r is ErrnoValue {
  return typeof r === "object" && r !== null && "errno" in r;
}

/** True when `x` names an errno the models know. */
export function isErrno(x: unknown): x is Errno {
  return typeof x === "string" && Object.hasOwn(ERRNO_NUMBERS, x);
}
