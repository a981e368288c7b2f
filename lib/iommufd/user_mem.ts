/**
 * The calling process's memory as the kernel reaches it through user pointers: 4 KiB pages,
 * each mapped read-write or read-only, everything else unmapped. Access to an unmapped page
 * (or a write to a read-only one) is a fault, which the uaccess helpers turn into EFAULT.
 * Faults are page-granular as on real hardware, so the word-at-a-time scans of the kernel's
 * user-copy helpers see them at the same byte as a byte-at-a-time scan would.
 * @module
 */

import { u64 } from "../bits.ts";

/** `PAGE_SHIFT` of the modelled process (4 KiB pages). */
export const PAGE_SHIFT = 12n;
/** `PAGE_SIZE`. */
export const PAGE_SIZE = 1n << PAGE_SHIFT;
const PAGE = Number(PAGE_SIZE);

/** A process address space: plain data, so a World holding it can be cloned. */
export interface UserMem {
  /** Mapped pages by page number (`addr >> PAGE_SHIFT`). */
  readonly pages: Map<bigint, Uint8Array>;
  /** Page numbers mapped read-only. */
  readonly readonly: Set<bigint>;
}

/** How many leading bytes of an access succeeded before the first fault. */
export interface Access {
  /** The bytes read (for reads); bytes past `done` are zero. */
  readonly bytes: Uint8Array;
  /** Bytes accessed before the first faulting byte (`bytes.length` when none faulted). */
  readonly done: number;
}

/** An empty address space. */
export function userMemCreate(): UserMem {
  return { pages: new Map(), readonly: new Set() };
}

function pageRange(addr: bigint, len: number): [bigint, bigint] {
  return [addr >> PAGE_SHIFT, (addr + BigInt(Math.max(len, 1)) - 1n) >> PAGE_SHIFT];
}

/** Maps zero-filled pages covering `[addr, addr + len)`; already mapped pages are reset. */
export function userMemMap(
  mem: UserMem,
  addr: bigint,
  len: number,
  opts: { readonly writable?: boolean } = {},
): void {
  const [first, last] = pageRange(addr, len);
  for (let p = first; p <= last; p++) {
    mem.pages.set(p, new Uint8Array(PAGE));
    if (opts.writable === false) mem.readonly.add(p);
    else mem.readonly.delete(p);
  }
}

/** Unmaps every page that overlaps `[addr, addr + len)`. */
export function userMemUnmap(mem: UserMem, addr: bigint, len: number): void {
  const [first, last] = pageRange(addr, len);
  for (let p = first; p <= last; p++) {
    mem.pages.delete(p);
    mem.readonly.delete(p);
  }
}

// The access walks page by page: copies stay proportional to the bytes moved, not to the
// number of bytes times a map lookup.
function walk(
  mem: UserMem,
  addr: bigint,
  len: number,
  write: boolean,
  fn: (page: Uint8Array, off: number, at: number, n: number) => void,
): number {
  // A range that wraps past the top of the address space fails access_ok() as a whole.
  if (addr + BigInt(len) > 1n << 64n) return 0;
  let done = 0;
  while (done < len) {
    const a = u64(addr + BigInt(done));
    const p = a >> PAGE_SHIFT;
    const page = mem.pages.get(p);
    if (!page || (write && mem.readonly.has(p))) break;
    const off = Number(a & (PAGE_SIZE - 1n));
    const n = Math.min(PAGE - off, len - done);
    fn(page, off, done, n);
    done += n;
  }
  return done;
}

/** Reads `len` bytes as far as they are readable. */
export function userMemRead(mem: UserMem, addr: bigint, len: number): Access {
  const bytes = new Uint8Array(len);
  const done = walk(mem, addr, len, false, (page, off, at, n) => {
    bytes.set(page.subarray(off, off + n), at);
  });
  return { bytes, done };
}

/** Writes `bytes` as far as the pages are writable; returns how many were written. */
export function userMemWrite(mem: UserMem, addr: bigint, bytes: Uint8Array): number {
  return walk(mem, addr, bytes.length, true, (page, off, at, n) => {
    page.set(bytes.subarray(at, at + n), off);
  });
}

/**
 * What the process itself writes into its memory (setup, not a kernel access): read-only
 * pages are written too, an unmapped byte is a `RangeError`.
 */
export function userMemPoke(mem: UserMem, addr: bigint, bytes: Uint8Array): void {
  const done = walk(mem, addr, bytes.length, false, (page, off, at, n) => {
    page.set(bytes.subarray(at, at + n), off);
  });
  if (done < bytes.length) {
    throw new RangeError(`Cannot write user memory at 0x${(addr + BigInt(done)).toString(16)}`);
  }
}
