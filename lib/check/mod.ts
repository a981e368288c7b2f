/**
 * The stale-translation check: cached entries (IOTLB, walk cache, configuration cache,
 * device ATC) compared with the tables after every step, and the command-order rules of
 * the queues. Findings are data with a canonical one-line form a spec can pin.
 * @module
 */

export * from "./finding.ts";
export * from "./smmuv3.ts";
export * from "./ordering.ts";
