/**
 * Model variants per family: the mainline behaviour is the default, the others are the
 * alternatives the seeds discuss. A spec picks them with `variant:` or a `matrix:` axis.
 * @module
 */

/** One family of variants. */
export interface VariantFamily {
  /** Used when the spec does not choose. */
  readonly default: string;
  /** Every accepted value, default first. */
  readonly values: readonly string[];
  /** One line per value for docs and the JSON Schema. */
  readonly doc: Readonly<Record<string, string>>;
}

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
};

/** The variant of every family for a run: defaults, then `variant:`, then matrix values. */
export function resolveVariants(
  chosen: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [fam, f] of Object.entries(VARIANT_FAMILIES)) out[fam] = chosen[fam] ?? f.default;
  return out;
}
