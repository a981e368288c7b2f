/**
 * SMMUv3 hardware interface: the command set, the probed instance and its command queue.
 * @module
 */

export * from "./cmd.ts";
export * from "./smmu.ts";
export * from "./cmdq.ts";
