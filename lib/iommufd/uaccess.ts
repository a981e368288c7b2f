/**
 * The kernel's user-memory accessors over {@link UserMem}: get_user(), copy_from_user(),
 * copy_to_user(), check_zeroed_user() and copy_struct_from_user(), with their errno rules.
 * Models include/linux/uaccess.h and lib/usercopy.c at mainline (v6.x; unchanged since
 * copy_struct_from_user() was added in v5.4).
 * @module
 */

import type { Errno } from "./errno.ts";
import { type UserMem, userMemRead, userMemWrite } from "./user_mem.ts";

/** Follows get_user() for a u32: one little-endian word, or EFAULT. */
export function getUser32(mem: UserMem, addr: bigint): number | "EFAULT" {
  const r = userMemRead(mem, addr, 4);
  if (r.done < 4) return "EFAULT";
  return new DataView(r.bytes.buffer).getUint32(0, true);
}

/** Follows copy_from_user(): the kernel gets the bytes, or EFAULT when any of them faults. */
export function copyFromUser(mem: UserMem, addr: bigint, len: number): Uint8Array | "EFAULT" {
  const r = userMemRead(mem, addr, len);
  return r.done < len ? "EFAULT" : r.bytes;
}

/** Follows copy_to_user(): bytes land in order until the first fault, which is EFAULT. */
export function copyToUser(mem: UserMem, addr: bigint, bytes: Uint8Array): 0 | "EFAULT" {
  return userMemWrite(mem, addr, bytes) < bytes.length ? "EFAULT" : 0;
}

/**
 * Follows check_zeroed_user(): 1 when `[addr, addr + len)` is all zero, 0 at the first
 * non-zero byte, EFAULT when a fault comes before any non-zero byte.
 */
export function checkZeroedUser(mem: UserMem, addr: bigint, len: number): 0 | 1 | "EFAULT" {
  const r = userMemRead(mem, addr, len);
  for (let i = 0; i < r.done; i++) if (r.bytes[i] !== 0) return 0;
  return r.done < len ? "EFAULT" : 1;
}

/**
 * Follows copy_struct_from_user(): reads a `usize`-byte user struct into a `ksize`-byte
 * kernel struct. A shorter user struct is zero-extended; a longer one must have an all-zero
 * tail (E2BIG otherwise), which is checked before the common part is copied, so a non-zero
 * tail wins over a fault in the common part.
 */
export function copyStructFromUser(
  mem: UserMem,
  src: bigint,
  opts: { readonly ksize: number; readonly usize: number },
): Uint8Array | Errno {
  const { ksize, usize } = opts;
  const size = Math.min(ksize, usize);
  if (usize > ksize) {
    const z = checkZeroedUser(mem, src + BigInt(size), usize - size);
    if (z !== 1) return z === 0 ? "E2BIG" : z;
  }
  const head = copyFromUser(mem, src, size);
  if (head === "EFAULT") return head;
  const dst = new Uint8Array(ksize);
  dst.set(head);
  return dst;
}
