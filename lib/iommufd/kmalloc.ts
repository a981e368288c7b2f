/**
 * When a whole-array allocation fails. The pre-series ops allocate a kernel copy of the
 * entire user array with kcalloc(); a request larger than the biggest buddy allocation
 * (`KMALLOC_MAX_SIZE`) gets NULL and the op returns ENOMEM. Models mm/slub.c and
 * include/linux/slab.h at mainline with 4 KiB pages and MAX_PAGE_ORDER 10 (x86-64 and arm64
 * defaults); ordinary memory pressure is not modelled.
 * @module
 */

/** `KMALLOC_MAX_SIZE` = `1 << (MAX_PAGE_ORDER + PAGE_SHIFT)`: 4 MiB. */
export const KMALLOC_MAX_SIZE = 4 * 1024 * 1024;

/** Follows kcalloc(): whether `n` objects of `size` bytes cannot be allocated. */
export function kcallocFails(n: number, size: number): boolean {
  // kcalloc(0, size) returns ZERO_SIZE_PTR, which is not NULL: it "succeeds".
  return n * size > KMALLOC_MAX_SIZE;
}
