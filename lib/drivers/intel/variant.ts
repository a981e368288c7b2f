/**
 * The upstream versions of the VT-d cache-tag code the model can reproduce, as data: each
 * variant is a row of switches that the flush, tag and attach code read. Version labels
 * follow the version map of the reference (CT-1 … CT-4); `pre-tags` is the SVA code the
 * "Consolidate domain cache invalidation" series (v6.10) replaced.
 *
 * `pre-tags` changes only the SVA paths (per-device notifier flushes, no tags on bind);
 * every other path of `pre-tags` runs the CT-1 tag code, not the v6.9
 * iommu_flush_iotlb_psi() loop. In every variant a nesting parent gets its batch when its
 * first nesting tag is assigned (the December 2024 fix; before it, a parent reached only
 * through nested children had none).
 * @module
 */

/** Variant names, oldest first. */
export const VTD_VARIANTS = ["pre-tags", "CT-1", "CT-2", "CT-3", "CT-4"] as const;
/** One variant. The default is `CT-4`. */
export type VtdVariant = typeof VTD_VARIANTS[number];

/** The default variant: the newest code. */
export const VTD_DEFAULT_VARIANT: VtdVariant = "CT-4";

/** What changes between versions. */
export interface VariantFeatures {
  /** Upstream release (or tree) the variant models. */
  readonly upstream: string;
  /** SVA mmu-notifier flushes walk the bound devices, one PASID-IOTLB flush per device. */
  readonly svaPerDevice: boolean;
  /** Descriptors go through the per-domain `qi_batch` (16 per submission); else one
   *  `qi_submit_sync()` per descriptor. */
  readonly batched: boolean;
  /** A new tag goes after the last tag of its IOMMU (else at the list tail). */
  readonly groupedInsert: boolean;
  /** The queued IOTLB descriptor carries IH (the 6.18 fix); before, IH was always 0. */
  readonly iotlbIh: boolean;
  /** `cache_tag_flush_all()` is `cache_tag_flush_range(d, 0, ULONG_MAX, 0)`. */
  readonly flushAllViaRange: boolean;
  /** PASID-IOTLB descriptors take a size order (all-in-PASID when it is ≥ 52); before,
   *  a page count (-1 meaning all). */
  readonly piotlbSizeOrder: boolean;
  /** Which domains use PASID-based IOTLB descriptors: `first-level` (fs paging, SVA and
   *  nested: `use_first_level`), `fs-paging` (the v6.17-v6.19 regression), or
   *  `fs-sva-nested` (`intel_domain_use_piotlb()`, v7.0 fix). */
  readonly piotlb: "first-level" | "fs-paging" | "fs-sva-nested";
  /** Trace events carry `pages`. */
  readonly tracePages: boolean;
  /** `intel_iommu_iotlb_sync_map()` only flushes when the domain asks for it. */
  readonly syncMapGated: boolean;
  /** PASID-entry teardown skips the device-TLB flush under caching mode. */
  readonly teardownSkipsDevtlbInCm: boolean;
}

// Each version as what it changed from the one before (vtd-sva-pkvm.md §0).
const CT1: VariantFeatures = {
  upstream: "v6.10",
  svaPerDevice: false,
  batched: false,
  groupedInsert: false,
  iotlbIh: false,
  flushAllViaRange: false,
  piotlbSizeOrder: false,
  piotlb: "first-level",
  tracePages: true,
  syncMapGated: false,
  teardownSkipsDevtlbInCm: true,
};
const CT2: VariantFeatures = {
  ...CT1,
  upstream: "v6.12",
  batched: true,
  groupedInsert: true,
  teardownSkipsDevtlbInCm: false,
};
const CT3: VariantFeatures = {
  ...CT2,
  upstream: "v6.17",
  flushAllViaRange: true,
  piotlb: "fs-paging",
  syncMapGated: true,
};

/** The switches of every variant. */
export const VARIANT_FEATURES: Readonly<Record<VtdVariant, VariantFeatures>> = {
  "pre-tags": {
    ...CT1,
    upstream: "v6.9 (SVA notifier before the series; other domains use the CT-1 tags)",
    svaPerDevice: true,
  },
  "CT-1": CT1,
  "CT-2": CT2,
  "CT-3": CT3,
  "CT-4": {
    ...CT3,
    upstream: "iommu tree intel/vt-d for v7.1 (April 2026), with the 6.18 IH and 7.0 PIOTLB fixes",
    iotlbIh: true,
    piotlbSizeOrder: true,
    piotlb: "fs-sva-nested",
    tracePages: false,
  },
};

/** The switches of `variant`. */
export function variantFeatures(variant: VtdVariant): VariantFeatures {
  return VARIANT_FEATURES[variant];
}
