/**
 * 64-bit helpers shared by every model: wrap-around, field masks and the kernel's
 * bit-search functions, all over `bigint`.
 * @module
 */

/** `U64_MAX` / `SIZE_MAX` / `ULONG_MAX` on a 64-bit kernel. */
export const U64_MAX: bigint = (1n << 64n) - 1n;

/** Wraps like the kernel's `u64` arithmetic. */
export function u64(x: bigint): bigint {
  return BigInt.asUintN(64, x);
}

/** `GENMASK_ULL(hi, lo)`. */
export function genmask(hi: number, lo: number): bigint {
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

/** `FIELD_GET(GENMASK_ULL(hi, lo), word)`. */
export function fieldGet(word: bigint, hi: number, lo: number): bigint {
  return (word >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

/** `FIELD_PREP(GENMASK_ULL(hi, lo), value)`: masks the value to the field, as the kernel does. */
export function fieldPrep(value: bigint, hi: number, lo: number): bigint {
  return (value & ((1n << BigInt(hi - lo + 1)) - 1n)) << BigInt(lo);
}

/** `__ffs()`: index of the lowest set bit. Undefined for 0 in the kernel; -1 here. */
export function ffs(x: bigint): number {
  if (x === 0n) return -1;
  let n = 0;
  // Skip 32-bit chunks first: range counts are usually small, big ones are rare.
  while ((x & 0xffffffffn) === 0n) {
    x >>= 32n;
    n += 32;
  }
  const lo = Number(x & 0xffffffffn);
  return n + 31 - Math.clz32(lo & -lo);
}

/** `fls64()`: 1-based index of the highest set bit, 0 for 0. */
export function fls(x: bigint): number {
  let n = 0;
  while (x > 0xffffffffn) {
    x >>= 32n;
    n += 32;
  }
  return n + 32 - Math.clz32(Number(x));
}

/** `ilog2()`: floor(log2(x)) for x > 0, -1 for 0. */
export function ilog2(x: bigint): number {
  return fls(x) - 1;
}

/** Formats a value as the kernel prints addresses: lower-case hex with `0x`. */
export function hex(x: bigint | number): string {
  return "0x" + x.toString(16);
}
