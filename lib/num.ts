/**
 * Numbers as people write them in specs and command text: `0x` hex (with optional `_`
 * separators), decimal, and sizes with a binary suffix (`4K`, `2M`, `1G`, `1T`).
 * @module
 */

import { U64_MAX } from "./bits.ts";

const SUFFIX: Readonly<Record<string, bigint>> = { K: 10n, M: 20n, G: 30n, T: 40n, P: 50n };

/**
 * Reads a 64-bit unsigned value.
 *
 * @returns the value, or a problem text ("expected a number", "does not fit in 64 bits").
 */
export function parseU64(text: string): bigint | string {
  const t = text.trim();
  let v: bigint;
  if (/^0[xX][0-9a-fA-F](_?[0-9a-fA-F])*$/.test(t)) {
    v = BigInt(t.replaceAll("_", ""));
  } else if (/^[0-9]+$/.test(t)) {
    v = BigInt(t);
  } else {
    const m = /^([0-9]+)([KMGTP])$/i.exec(t);
    if (!m) return `expected a number (decimal, 0x hex, or a size such as 4K)`;
    v = BigInt(m[1]) << SUFFIX[m[2].toUpperCase()];
  }
  if (v > U64_MAX) return `${t} does not fit in 64 bits`;
  return v;
}

/** Formats a size the way specs write it when it is a whole number of K/M/G, else hex. */
export function formatSize(v: bigint): string {
  if (v === 0n) return "0";
  for (const [s, shift] of [["G", 30n], ["M", 20n], ["K", 10n]] as const) {
    if (v % (1n << shift) === 0n && v >> shift < 1024n) return `${v >> shift}${s}`;
  }
  return "0x" + v.toString(16);
}
