/**
 * Schemas of what a scenario declares: IOMMUs (by kind), devices and domains.
 * Devices and domains take the fields of every IOMMU kind; each kind's builder checks the
 * ones that apply to it.
 * @module
 */

import { z } from "zod";
import { SMMU_FEATURES, SMMU_OPTIONS } from "../lib/hw/smmuv3/smmu.ts";
import { ARM_SMMU_INJECT } from "../lib/drivers/arm-smmu-v3/driver.ts";
import { Name, PageSizes, ScenarioMeta, uint } from "./schema.ts";
import { IommufdDecl } from "./areas/iommufd_decl.ts";
import { VtdDecl } from "./areas/vtd_decl.ts";
import { ProcessesDecl } from "./areas/sva.ts";
import { PkvmDecl } from "./areas/pkvm.ts";

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
  pgsize: PageSizes.optional().meta({ description: "page sizes the SMMU supports (IDR5)" }),
});

/** Any IOMMU, discriminated by `kind`. */
export const IommuDecl = z.discriminatedUnion("kind", [Smmuv3Decl, VtdDecl]);

/** IOMMU kinds, for messages. */
export const IOMMU_KINDS = ["smmuv3", "vtd"] as const;

/** A device (an SMMUv3 master, a VT-d endpoint). */
export const DeviceDecl = z.strictObject({
  iommu: Name.meta({ description: "the IOMMU the device sits behind" }),
  sids: z.array(uint(32)).min(1).optional().meta({ description: "StreamIDs (SMMUv3)" }),
  ats: z.boolean().optional().meta({ description: "PCIe ATS capable (default false)" }),
  pci: z.boolean().optional().meta({ description: "a PCI device (default true)" }),
  pasid_bits: uint(5).optional().meta({ description: "PASID width (default 0: no PASIDs)" }),
  canwbs: z.boolean().optional(),
  sid: uint(16).optional().meta({ description: "VT-d: requester id, bus << 8 | devfn" }),
  pfsid: uint(16).optional().meta({
    description: "VT-d: the PF's requester id of a VF (sent when the unit has DIT; default sid)",
  }),
  qdep: z.number().int().min(1).max(32).optional().meta({
    description: "VT-d: ATS invalidate queue depth, 1..32 (default 32, written as 0)",
  }),
  extra_dtlb_flush: z.boolean().optional().meta({
    description: "VT-d: endpoint quirk, every device-TLB flush is sent twice",
  }),
});

/** Domain types. */
export const DOMAIN_TYPES = ["paging", "sva", "nested", "identity", "blocked"] as const;

/** A domain: what devices attach to. */
export const DomainDecl = z.strictObject({
  type: z.enum(DOMAIN_TYPES).optional().meta({ description: "default paging" }),
  stage: z.enum(["s1", "s2"]).optional().meta({ description: "SMMUv3 paging stage (default s1)" }),
  nest_parent: z.boolean().optional().meta({ description: "an S2 nesting parent" }),
  level: z.enum(["first", "second"]).optional().meta({
    description: "VT-d paging: first- or second-stage page table (default second)",
  }),
  parent: Name.optional().meta({ description: "VT-d nested: the nest-parent domain below it" }),
  did: z.union([uint(16), z.record(Name, uint(16))]).optional().meta({
    description: "VT-d: fix the domain id, on every unit or per unit ({ dmar0: 5 })",
  }),
  pasid: uint(20).optional().meta({ description: "VT-d SVA: the process's PASID (mm->pasid)" }),
  asid: uint(16).optional().meta({ description: "fix the ASID (default: allocated)" }),
  vmid: uint(16).optional().meta({ description: "fix the VMID (default: allocated)" }),
  pgsize: PageSizes.optional().meta({ description: "page sizes, e.g. [4K, 2M, 1G]" }),
  iommu: Name.optional().meta({ description: "allocate on this IOMMU now (else at first attach)" }),
  strict: z.boolean().optional().meta({
    description: "false: unmaps are flushed lazily by the DMA flush queue (fq_flush step)",
  }),
});

/** The top-level object of one scenario; `steps` are validated per verb elsewhere. */
export const SpecSchema = z.strictObject({
  ...ScenarioMeta,
  iommus: z.record(Name, IommuDecl).default({}).meta({
    description: "IOMMU instances by name (none for a selftest-only iommufd scenario)",
  }),
  devices: z.record(Name, DeviceDecl).optional().meta({ description: "devices by name" }),
  domains: z.record(Name, DomainDecl).optional().meta({ description: "domains by name" }),
  iommufd: IommufdDecl.optional(),
  processes: ProcessesDecl,
  pkvm: PkvmDecl,
  inject: z.strictObject({
    "arm-smmu-v3": z.array(z.enum(ARM_SMMU_INJECT)).optional(),
  }).optional().meta({
    description: "fault injection, to show what the stale-translation check catches " +
      "(not kernel behaviour), e.g. { arm-smmu-v3: [detach_no_tag_flush, iotlb_sync_no_tlbi] }",
  }),
  steps: z.array(z.unknown()).meta({ description: "steps, each with one verb" }),
});

/** A validated scenario (before its steps are read). */
export type SpecHead = z.output<typeof SpecSchema>;
/** One declared device. */
export type DeviceDeclT = z.output<typeof DeviceDecl>;
/** One declared domain. */
export type DomainDeclT = z.output<typeof DomainDecl>;
