/**
 * How the iommu core cuts a map or unmap into calls of one page size: the largest supported
 * size that fits the remaining length and the alignment of both addresses, repeated up to
 * the point where the next larger size becomes usable.
 * Models iommu_pgsize() in drivers/iommu/iommu.c at mainline as of May 2026.
 * @module
 */

import { ffs, fls, genmask } from "../bits.ts";

/** One `map_pages`/`unmap_pages` call: `count` pages of `pgsize` bytes. */
export interface PgsizeChoice {
  /** Page size. */
  readonly pgsize: bigint;
  /** Number of pages of that size before a larger one could take over. */
  readonly count: bigint;
}

/**
 * Follows iommu_pgsize(): picks the largest size in `pgsizeBitmap` no bigger than `size`
 * and aligned like `iova | paddr`, and how many such pages to use. The count stops where
 * the next larger size starts to fit, but only when both addresses sit at the same offset
 * inside that larger size; otherwise the larger size could never be used there.
 * Unmap passes `paddr = iova`.
 *
 * @throws {RangeError} When no size fits (the kernel's BUG_ON); the core's alignment
 * checks rule this out.
 */
export function iommuPgsize(
  pgsizeBitmap: bigint,
  opts: { readonly iova: bigint; readonly paddr: bigint; readonly size: bigint },
): PgsizeChoice {
  const { iova, paddr } = opts;
  let size = opts.size;
  const addrMerge = paddr | iova;
  let pgsizes = size === 0n ? 0n : pgsizeBitmap & genmask(fls(size) - 1, 0);
  if (addrMerge !== 0n) pgsizes &= genmask(ffs(addrMerge), 0);
  if (pgsizes === 0n) {
    throw new RangeError(
      `Cannot pick a page size for iova 0x${iova.toString(16)} size 0x${size.toString(16)}`,
    );
  }
  const idx = fls(pgsizes) - 1;
  const pgsize = 1n << BigInt(idx);
  const larger = pgsizeBitmap & ~genmask(idx, 0);
  if (larger !== 0n) {
    const next = 1n << BigInt(ffs(larger));
    if (((iova ^ paddr) & (next - 1n)) === 0n) {
      const offset = next - (addrMerge & (next - 1n));
      if (offset + next <= size) size = offset;
    }
  }
  return { pgsize, count: size >> BigInt(idx) };
}
