/**
 * fast-check arbitraries for invalidation requests: entry arrays the mock, VT-d and ARM ops
 * accept or reject, and raw byte layouts.
 * @module
 */

import fc from "fast-check";
import { U64_MAX } from "../../../lib/bits.ts";
import type { InvalidateEntry } from "../../../lib/iommufd/mod.ts";

/** Mock nested-HWPT entries: valid and invalid flags and slot indexes. */
export const arbSelftestEntries: fc.Arbitrary<InvalidateEntry[]> = fc.array(
  fc.record({
    kind: fc.constant("selftest" as const),
    flags: fc.constantFrom(0, 0, 0, 1, 2),
    iotlbId: fc.constantFrom(0, 1, 2, 3, 4),
  }),
  { maxLength: 12 },
);

/** Mock vIOMMU entries: the known vDEVICE 0x99 mostly, an unknown one sometimes. */
export const arbViommuEntries: fc.Arbitrary<InvalidateEntry[]> = fc.array(
  fc.record({
    kind: fc.constant("selftest_viommu" as const),
    flags: fc.constantFrom(0, 0, 0, 1, 4),
    vdevId: fc.constantFrom(0x99, 0x99, 0x99, 0x9),
    cacheId: fc.constantFrom(0, 1, 2, 3, 5),
  }),
  { maxLength: 12 },
);

/** VT-d stage-1 entries: aligned and misaligned addresses, "all", leaf and unknown flags. */
export const arbVtdEntries: fc.Arbitrary<InvalidateEntry[]> = fc.array(
  fc.record({
    kind: fc.constant("vtd_s1" as const),
    addr: fc.constantFrom(0n, 0x1000n, 0x40000n, 0x1234n),
    npages: fc.constantFrom(0n, 1n, 2n, 512n, U64_MAX),
    flags: fc.constantFrom(0, 1, 1, 2),
    reserved: fc.constantFrom(0, 0, 0, 0, 1),
  }),
  { maxLength: 12 },
);

/** Chunk sizes a converted op may use per call. */
export const arbChunk: fc.Arbitrary<number> = fc.integer({ min: 1, max: 70 });
