/**
 * The address/mask pair of a page-selective invalidation: the smallest naturally aligned
 * power-of-two block of 4 KiB pages that contains an inclusive byte range, which is the
 * only shape a PSI (and a device-TLB invalidation) can name.
 * Models calculate_psi_aligned_address() of drivers/iommu/intel/cache.c (v6.10 … v7.1
 * queue) and aligned_nrpages() of iommu.h, with x86-64 64-bit wrap-around.
 * @module
 */

import { ffs, fls, ilog2, u64, U64_MAX } from "../../bits.ts";

// VTD_PAGE_SHIFT: VT-d pages are 4 KiB whatever the host page size.
const VTD_PAGE_SHIFT = 12n;
/** `MAX_AGAW_PFN_WIDTH`: a mask this large covers the whole 64-bit space. */
export const MAX_AGAW_PFN_WIDTH = 52;

/** What calculate_psi_aligned_address() returns. */
export interface PsiAligned {
  /** Start of the block: `start` rounded down to `4 KiB << mask`. */
  readonly addr: bigint;
  /** log2 of the block size in 4 KiB pages (the descriptor's AM / size order). */
  readonly mask: number;
  /** Pages in the block (`aligned_pages`, returned through `_pages` until v6.17). */
  readonly pages: bigint;
}

/** Follows aligned_nrpages(): 4 KiB pages covering `size` bytes from `hostAddr`'s page. */
export function alignedNrpages(hostAddr: bigint, size: bigint): bigint {
  const off = hostAddr & 0xfffn;
  return u64(u64(off + size) + 0xfffn) >> VTD_PAGE_SHIFT;
}

// __roundup_pow_of_two(): 1 << fls(n - 1). For n = 0 the shift is 64, which x86 takes
// modulo 64 (an undefined case no caller hits; kept as the CPU would compute it).
function roundupPowOfTwo(n: bigint): bigint {
  return 1n << BigInt(fls(u64(n - 1n)) & 63);
}

/**
 * Follows calculate_psi_aligned_address(): the PSI block for `[start, end]` (inclusive).
 *
 * The page count is rounded up to a power of two; if `start` is not aligned to that size,
 * the range straddles a boundary of it, so the mask grows to the lowest bit above the
 * count where the first and last page numbers agree (they can only differ there by a
 * carry), or to the whole space when they share none.
 */
export function calculatePsiAlignedAddress(start: bigint, end: bigint): PsiAligned {
  const pages = alignedNrpages(start, u64(end - start + 1n));
  let alignedPages = roundupPowOfTwo(pages);
  const bitmask = u64(alignedPages - 1n);
  let mask = ilog2(alignedPages);
  const pfn = start >> VTD_PAGE_SHIFT;
  if ((bitmask & pfn) !== 0n) {
    const endPfn = u64(pfn + pages - 1n);
    const shared = ~(pfn ^ endPfn) & ~bitmask & U64_MAX;
    mask = shared !== 0n ? ffs(shared) : MAX_AGAW_PFN_WIDTH;
    alignedPages = u64(1n << BigInt(mask));
  }
  const align = u64(1n << (VTD_PAGE_SHIFT + BigInt(mask)));
  return { addr: start & ~u64(align - 1n) & U64_MAX, mask, pages: alignedPages };
}
