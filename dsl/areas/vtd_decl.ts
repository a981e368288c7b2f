/**
 * The declaration of an Intel VT-d remapping unit (`kind: vtd`): one flag per capability
 * bit the invalidation paths read, defaulting to a modern scalable-mode unit, plus MAMV and
 * the translation-enable state.
 *
 * ```yaml
 * iommus:
 *   dmar0: { kind: vtd }                              # PSI, MAMV 18, DR/DW, QI, ATS, PASID, SM
 *   dmar1: { kind: vtd, caching_mode: true, mamv: 2 } # a virtual IOMMU
 * ```
 * @module
 */

import { z } from "zod";
import { PageSizes, uint } from "../schema.ts";

function cap(bit: string, what: string) {
  return z.boolean().optional().meta({ description: `${bit}: ${what}` });
}

/** A VT-d remapping unit. Each capability flag defaults to the model's `VTD_DEFAULT_CAPS`. */
export const VtdDecl = z.strictObject({
  kind: z.literal("vtd"),
  psi: cap("CAP.PSI", "page-selective IOTLB invalidation (default true)"),
  caching_mode: cap("CAP.CM", "non-present entries may be cached, as in virtual IOMMUs"),
  read_drain: cap("CAP.DRD", "DR set in IOTLB descriptors (default true)"),
  write_drain: cap("CAP.DWD", "DW set in IOTLB descriptors (default true)"),
  rwbf: cap("CAP.RWBF", "write-buffer flushing required"),
  qis: cap("ECAP.QI", "queued invalidation (default true; off: register flushes)"),
  dev_iotlb: cap("ECAP.DT", "device-TLBs: ATS endpoints (default true)"),
  smts: cap("ECAP.SMTS", "scalable mode (default true; off: legacy context entries)"),
  pasid: cap("ECAP.PASID", "PASID support (default true)"),
  flts: cap("ECAP.FLTS", "first-stage translation (default true)"),
  slts: cap("ECAP.SLTS", "second-stage translation (default true)"),
  nest: cap("ECAP.NEST", "nested translation (default true)"),
  dit: cap("ECAP.DIT", "device-TLB invalidation throttling: descriptors carry the PF's pfsid"),
  mamv: uint(6).optional().meta({
    description: "CAP.MAMV: the largest address mask a PSI may use (default 18)",
  }),
  pgsize: PageSizes.optional().meta({
    description: "page sizes of its tables (SLLPS / FL1GP; default [4K, 2M, 1G])",
  }),
  translation: z.boolean().optional().meta({
    description: "GCMD.TE: translation enabled (default true; off: device-TLB flushes skipped)",
  }),
});

/** A declared VT-d unit. */
export type VtdDeclT = z.output<typeof VtdDecl>;
