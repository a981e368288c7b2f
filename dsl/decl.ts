/**
 * Schemas of what a scenario declares: IOMMUs (by kind), devices and domains.
 * @module
 */

import { z } from "zod";
import { SMMU_FEATURES, SMMU_OPTIONS } from "../lib/hw/smmuv3/smmu.ts";
import { Name, ScenarioMeta, uint } from "./schema.ts";

/** An SMMUv3 instance. */
export const Smmuv3Decl = z.strictObject({
  kind: z.literal("smmuv3"),
  features: z.array(z.enum(SMMU_FEATURES)).optional().meta({
    description: "ID-register features: range_inv, e2h, ats, nesting, ...",
  }),
  options: z.array(z.enum(SMMU_OPTIONS)).optional().meta({
    description: "driver options: cmdq_force_sync (MMU-700 erratum), msipoll, skip_prefetch",
  }),
  asid_bits: z.union([z.literal(8), z.literal(16)]).optional(),
  vmid_bits: z.union([z.literal(8), z.literal(16)]).optional(),
  ssid_bits: uint(5).optional(),
});

/** Any IOMMU, discriminated by `kind`. */
export const IommuDecl = z.discriminatedUnion("kind", [Smmuv3Decl]);

/** The top-level object of one scenario; `steps` are validated per verb elsewhere. */
export const SpecSchema = z.strictObject({
  ...ScenarioMeta,
  iommus: z.record(Name, IommuDecl).meta({ description: "IOMMU instances by name" }),
  steps: z.array(z.unknown()).meta({ description: "steps, each with one verb" }),
});

/** A validated scenario (before its steps are read). */
export type SpecHead = z.output<typeof SpecSchema>;
