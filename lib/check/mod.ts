/**
 * The stale-translation check: cached entries (IOTLB, walk or paging-structure caches,
 * configuration, context and PASID caches, device ATCs / device TLBs) compared with the
 * tables after every step, for SMMUv3 and VT-d, and the command-order rules of the queues.
 * Findings are data with a canonical one-line form a spec can pin.
 * @module
 */

export * from "./finding.ts";
export * from "./verdict.ts";
export * from "./atc_entry.ts";
export * from "./smmuv3.ts";
export * from "./vtd.ts";
export * from "./ordering.ts";
