/**
 * The invalidation-command builders shared by every SMMUv3 caller (driver and pKVM): range
 * TLBIs, the too-big fallback to whole-tag commands, and ATC_INV ranges.
 * @module
 */

export * from "./range.ts";
export * from "./nsize.ts";
export * from "./atc.ts";
export * from "./domain_tlbi.ts";
export * from "./pkvm.ts";
