/**
 * Model variants per family: the mainline behaviour is the default, the others are the
 * alternatives the seeds discuss. A spec picks them with `variant:` or a `matrix:` axis.
 * @module
 */

import {
  VARIANT_FEATURES,
  VTD_DEFAULT_VARIANT,
  VTD_VARIANTS,
  type VtdVariant,
} from "../lib/drivers/intel/variant.ts";
import { IOMMUFD_DEFAULT_VARIANT, IOMMUFD_VARIANTS } from "../lib/iommufd/mod.ts";
import { SVA_VARIANTS } from "../lib/sva/system.ts";

/** One family of variants. */
export interface VariantFamily {
  /** Used when the spec does not choose. */
  readonly default: string;
  /** Every accepted value, default first. */
  readonly values: readonly string[];
  /** One line per value for docs and the JSON Schema. */
  readonly doc: Readonly<Record<string, string>>;
}

// VT-d versions, newest first (vtd-sva-pkvm.md §0; the switches are in the intel model).
const INTEL_VARIANTS: readonly VtdVariant[] = [...VTD_VARIANTS].reverse();

/** All families by name. */
export const VARIANT_FAMILIES: Readonly<Record<string, VariantFamily>> = {
  "arm-smmu-v3": {
    default: "mainline",
    values: ["mainline", "v9", "multi-smmu"],
    doc: {
      mainline: "the merged invalidation array (mainline 6a01b9f0a5ec)",
      v9: "the v9 posting: no ssid in the comparator, unref callback, non-terminating continue",
      "multi-smmu": "mainline, but a domain may span SMMU instances (later series)",
    },
  },
  iommufd: {
    default: IOMMUFD_DEFAULT_VARIANT,
    values: IOMMUFD_VARIANTS,
    doc: {
      "core-loop": "the core walks the invalidation array (jgg/iommufd for-next 61e2f25a49bc)",
      "driver-loop": "each op walks the whole array itself (before it; with two SMMUv3 bugs)",
    },
  },
  intel: {
    default: VTD_DEFAULT_VARIANT,
    values: INTEL_VARIANTS,
    doc: Object.fromEntries(
      INTEL_VARIANTS.map((v) => [v, VARIANT_FEATURES[v].upstream]),
    ),
  },
  sva: {
    default: "mainline",
    values: SVA_VARIANTS,
    doc: {
      mainline: "kernel-VA flush as merged: deferred kernel page-table free (e37d5a2d60a3, v6.18)",
      "v2-work":
        "NOT merged: seed 003 sketch, flush_tlb_kernel_range() hook, work item only if atomic",
      "did-flush":
        "NOT merged: seed 003 idea, one VT-d flush of the SVA domain id (DID 1) per unit",
    },
  },
};

/** The variant of every family for a run: defaults, then `variant:`, then matrix values. */
export function resolveVariants(
  chosen: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [fam, f] of Object.entries(VARIANT_FAMILIES)) out[fam] = chosen[fam] ?? f.default;
  return out;
}
