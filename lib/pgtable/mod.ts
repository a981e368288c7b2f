/**
 * The I/O page-table model: a domain's tables as plain data (io-pgtable-arm for SMMUv3
 * stage 1 and 2, iommupt for VT-d), the iommu core's map/unmap with the unmap gather, the
 * DMA API flush queue, and the hardware's table walk. Every map and unmap returns the
 * ordered page-table writes and driver requests (`flush_walk`, `iotlb_sync`, ...) for a
 * runner to replay into a driver model.
 *
 * @example Unmapping two 4K pages gathers one 8K range
 * ```ts
 * import { eventLogCreate } from "../events.ts";
 * import { ioPgtableAlloc, iommuMap, iommuUnmap, ptRequests } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const pt = ioPgtableAlloc(eventLogCreate(), { pgsizeBitmap: 0x1000n | 0x200000n | 0x40000000n });
 * iommuMap(pt, { iova: 0x40000n, paddr: 0x80040000n, size: 0x2000n });
 * const { unmapped, steps } = iommuUnmap(pt, { iova: 0x40000n, size: 0x2000n });
 * assert.equal(unmapped, 0x2000n);
 * const [sync] = ptRequests(steps);
 * assert.equal(sync.op === "iotlb_sync" && sync.gather.end, 0x41fffn);
 * ```
 *
 * @module
 */

export * from "./pgtable.ts";
export * from "./steps.ts";
export * from "./pte.ts";
export * from "./gather.ts";
export * from "./pgsize.ts";
export * from "./io_pgtable_arm.ts";
export * from "./iommu_pt.ts";
export * from "./iommu.ts";
export * from "./walk.ts";
export * from "./flush_queue.ts";
