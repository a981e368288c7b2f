/**
 * Kernel error returns of the arm-smmu-v3 model as values: `0` for success, or
 * `{ errno: "EINVAL" }` naming the negative errno the driver would return.
 * Models the return conventions of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline
 * 6a01b9f0a5ec.
 * @module
 */

/** The errno names the modelled driver paths can return. */
export const ERRNOS = [
  "EINVAL",
  "ENOMEM",
  "EBUSY",
  "ENOSPC",
  "ENODEV",
  "EOPNOTSUPP",
  "EIO",
] as const;
/** One errno name (the kernel returns it negated). */
export type Errno = typeof ERRNOS[number];

/** A failed call: the errno the kernel would return. */
export interface ErrnoValue {
  /** Errno name, e.g. `"EINVAL"` for `-EINVAL`. */
  readonly errno: Errno;
}

/** What a driver entry point returns: `0` or an errno value. */
export type Ret = 0 | ErrnoValue;

/** An errno value. */
export function errno(e: Errno): ErrnoValue {
  return { errno: e };
}

/** True when `r` is an errno value rather than a result. */
export function isErr(r: unknown): r is ErrnoValue {
  return typeof r === "object" && r !== null && "errno" in r;
}
