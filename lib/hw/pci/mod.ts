/**
 * PCIe functions as the IOMMU models see them: ATS with the device's translation cache.
 * @module
 */

export * from "./ats.ts";
