/**
 * How drivers read the user invalidation array: `struct iommu_user_data_array` and the copy
 * helpers of include/linux/iommu.h (`__iommu_copy_struct_from_user`, the per-entry
 * `__iommu_copy_struct_from_user_array` and `iommu_copy_struct_from_full_user_array`), with
 * their exact errno order. Models torvalds/linux mainline (v6.13+ helpers, unchanged by the
 * core-loop series).
 * @module
 */

import { u64 } from "../bits.ts";
import type { EventLog } from "../events.ts";
import { warn } from "../events.ts";
import type { Errno } from "./errno.ts";
import { copyFromUser, copyStructFromUser } from "./uaccess.ts";
import type { UserMem } from "./user_mem.ts";

/**
 * `struct iommu_user_data_array`: what the core hands a cache-invalidation op. The op
 * reports how many entries it handled by writing `entryNum`.
 */
export interface UserDataArray {
  /** `type`: the data type of every entry. */
  readonly type: number;
  /** `uptr`: user address of entry 0. */
  readonly uptr: bigint;
  /** `entry_len`: the user's size of one entry. */
  readonly entryLen: number;
  /** `entry_num`: entries given on the way in; entries handled on the way out. */
  entryNum: number;
}

/** Where the copy helpers read from and report WARNs to. */
export interface CopyContext {
  /** The calling process's memory. */
  readonly mem: UserMem;
  /** Where a WARN_ON in a helper lands. */
  readonly log: EventLog;
}

/** A kernel struct's size and the end of its first-release fields (`offsetofend`). */
export interface KStruct {
  /** `sizeof(struct)`. */
  readonly size: number;
  /** `offsetofend(struct, min_last)`: the shortest user struct still accepted. */
  readonly minLen: number;
}

/**
 * Follows __iommu_copy_struct_from_user(): the type must match, and the user length must lie
 * in `[minLen, size]` (so even a longer struct with a zero tail is EINVAL here); what is left
 * is a fault.
 */
export function copyStructFromUserData(
  ctx: CopyContext,
  src: { readonly type: number; readonly uptr: bigint; readonly len: number },
  opts: { readonly dataType: number; readonly kstruct: KStruct },
): Uint8Array | Errno {
  const { size, minLen } = opts.kstruct;
  if (src.type !== opts.dataType) return "EINVAL";
  if (src.len < minLen || src.len > size) return "EINVAL";
  return copyStructFromUser(ctx.mem, src.uptr, { ksize: size, usize: src.len });
}

/**
 * Follows __iommu_copy_struct_from_user_array(): entry `index` of the array through
 * {@link copyStructFromUserData}. An index past the end is a caller bug (WARN, EINVAL).
 */
export function copyStructFromUserArray(
  ctx: CopyContext,
  array: UserDataArray,
  opts: { readonly dataType: number; readonly index: number; readonly kstruct: KStruct },
): Uint8Array | Errno {
  if (opts.index >= array.entryNum) {
    warn(ctx.log, "__iommu_copy_struct_from_user_array", "index >= entry_num");
    return "EINVAL";
  }
  if (array.entryNum === 0) return "EINVAL";
  const uptr = u64(array.uptr + BigInt(array.entryLen) * BigInt(opts.index));
  return copyStructFromUserData(ctx, { type: array.type, uptr, len: array.entryLen }, opts);
}

/**
 * Follows iommu_copy_struct_from_full_user_array(): every entry of the array, each widened
 * or narrowed to `ksize` bytes. No minimum length applies (a 1-byte entry is zero-extended);
 * a longer entry needs an all-zero tail (E2BIG). With `entry_len == ksize` one bulk copy
 * is made (the kernel's per-entry pass after it re-reads the same bytes and cannot fail).
 * Either every entry is copied or the call fails before the driver looks at any.
 */
export function copyStructFromFullUserArray(
  ctx: CopyContext,
  array: UserDataArray,
  opts: { readonly dataType: number; readonly ksize: number },
): Uint8Array[] | Errno {
  const { ksize } = opts;
  if (array.type !== opts.dataType) return "EINVAL";
  if (array.entryNum === 0) return "EINVAL";
  if (array.entryLen === ksize) {
    const bulk = copyFromUser(ctx.mem, array.uptr, array.entryNum * array.entryLen);
    if (bulk === "EFAULT") return bulk;
    // The kernel's per-entry pass that follows re-reads the same bytes with no tail to
    // check, so it cannot fail or change them: the bulk copy's slices are its result.
    const out: Uint8Array[] = new Array(array.entryNum);
    for (let i = 0; i < array.entryNum; i++) out[i] = bulk.subarray(i * ksize, (i + 1) * ksize);
    return out;
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < array.entryNum; i++) {
    const src = u64(array.uptr + BigInt(array.entryLen) * BigInt(i));
    const e = copyStructFromUser(ctx.mem, src, { ksize, usize: array.entryLen });
    if (typeof e === "string") return e;
    out.push(e);
  }
  return out;
}
