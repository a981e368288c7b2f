/**
 * SMMUv3 hardware interface: the command set, the probed instance and its command queue, and
 * the hardware behind the queue (configuration cache, IOTLB, walk cache, translation).
 * @module
 */

export * from "./cmd.ts";
export * from "./smmu.ts";
export * from "./cmdq.ts";
export * from "./caches.ts";
export * from "./tlbi_exec.ts";
export * from "./translate.ts";
export * from "./cmdq_consume.ts";
