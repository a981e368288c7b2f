/**
 * The contract between the iommufd core and a driver's cache-invalidation op
 * (`cache_invalidate_user` of a nested domain, `cache_invalidate` of a vIOMMU), and the two
 * forms it has. Before the series "iommufd: Iterate the cache invalidation array in the core"
 * (`"driver-loop"`) the op gets the whole array once and walks it itself; with the series
 * (`"core-loop"`) the op handles one chunk from the front of what it is given, reports the
 * count in `entry_num`, and the core calls it again for the rest.
 * Models include/linux/iommu.h and include/linux/iommufd.h (op kdoc) before and after the
 * series (jgg/iommufd for-next, 2026-09-11).
 * @module
 */

import type { Rc } from "./errno.ts";
import {
  type CopyContext,
  copyStructFromUserArray,
  type KStruct,
  type UserDataArray,
} from "./user_data.ts";

/** The two forms of the core handler and of the ops. */
export const IOMMUFD_VARIANTS = ["core-loop", "driver-loop"] as const;
/** `"core-loop"`: the series; `"driver-loop"`: before it (with the two SMMUv3 bugs). */
export type IommufdVariant = typeof IOMMUFD_VARIANTS[number];
/** The series is what the iommufd tree carries; the earlier form is the named variant. */
export const IOMMUFD_DEFAULT_VARIANT: IommufdVariant = "core-loop";

/** What every op call sees besides the array. */
export interface OpContext extends CopyContext {
  /** Which form of the op runs (before or after the driver was converted). */
  readonly variant: IommufdVariant;
  /**
   * Entries a converted selftest or VT-d op handles per call (default 1, what the series'
   * "one entry per call" conversion does); larger values exercise the core loop.
   */
  readonly chunk?: number;
}

/** An op bound to its object and context, as the core calls it. */
export type CacheInvalidateOp = (array: UserDataArray) => Rc;

/**
 * How many entries of `array` an op that walks entry by entry looks at in this call: all of
 * them before the series, at most `chunk` (default 1) after it.
 */
export function entriesPerCall(ctx: OpContext, array: UserDataArray): number {
  if (ctx.variant === "driver-loop") return array.entryNum;
  const chunk = ctx.chunk ?? 1;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`Cannot use chunk ${chunk}: an op must handle at least 1 entry per call`);
  }
  return Math.min(array.entryNum, chunk);
}

/**
 * The entry-by-entry walk that the selftest nested mock and VT-d each open-code (the same
 * loop in both drivers; the model keeps one copy): a wrong type is EINVAL before anything,
 * zero-length probes included; then entries are copied with the per-entry helper (so
 * `entry_len` must lie in `[minLen, size]`) and applied in order, at most
 * {@link entriesPerCall} of them. The first error stops the walk; entries applied before it
 * stay applied and are reported in `entry_num`.
 */
export function cacheInvalidatePerEntry(
  array: UserDataArray,
  ctx: OpContext,
  opts: {
    readonly dataType: number;
    readonly kstruct: KStruct;
    readonly apply: (entry: Uint8Array) => Rc;
  },
): Rc {
  let processed = 0;
  let rc: Rc = 0;
  if (array.type !== opts.dataType) {
    rc = "EINVAL";
  } else {
    const n = entriesPerCall(ctx, array);
    for (let index = 0; index < n; index++) {
      const bytes = copyStructFromUserArray(ctx, array, { ...opts, index });
      rc = typeof bytes === "string" ? bytes : opts.apply(bytes);
      if (rc !== 0) break;
      processed++;
    }
  }
  array.entryNum = processed;
  return rc;
}
