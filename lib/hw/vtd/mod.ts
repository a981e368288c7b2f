/**
 * VT-d hardware interface: queued-invalidation descriptors, the remapping unit with its
 * capabilities, and its invalidation queue.
 *
 * @example Parse, encode and print a VT-d descriptor
 * ```ts
 * import { encodeDesc, formatDesc, parseDesc } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const d = parseDesc("DEV_TLB_INV sid=0x300 mask=2");
 * assert.deepEqual(encodeDesc(d), [0x0000030000000003n, 0x1001n]);
 * assert.equal(formatDesc(d), "DEV_TLB_INV sid=0x300 mask=2");
 * ```
 *
 * @module
 */

export * from "./desc.ts";
export * from "./iommu.ts";
export * from "./qi.ts";
export * from "./caches.ts";
export * from "./desc_exec.ts";
export * from "./translate.ts";
export * from "./qi_consume.ts";
