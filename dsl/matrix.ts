/**
 * Expands a scenario's `matrix:` into cells, one run each. An axis is a variant family
 * (`arm-smmu-v3: [mainline, v9]`), a feature or option of every IOMMU that has it
 * (`range_inv: [true, false]`), or one IOMMU's feature (`smmu1.range_inv`).
 * @module
 */

import { suggest } from "../lib/suggest.ts";
import { SMMU_FEATURES, SMMU_OPTIONS } from "../lib/hw/smmuv3/smmu.ts";
import { VTD_CAPS } from "../lib/hw/vtd/iommu.ts";
import type { SpecHead } from "./decl.ts";
import type { LoadedSpec } from "./load.ts";
import { specError } from "./expect.ts";
import type { Diagnostic, SourceLocator } from "./types.ts";
import { VARIANT_FAMILIES } from "./variants.ts";

/** A matrix value. */
export type AxisValue = string | boolean | number;

/** One combination of axis values. */
export interface Cell {
  /** Axis → value; empty without a matrix. */
  readonly values: Readonly<Record<string, AxisValue>>;
  /** `arm-smmu-v3=v9, range_inv=false`, or "" without a matrix. */
  readonly name: string;
}

const SWITCHES: readonly string[] = [...SMMU_FEATURES, ...SMMU_OPTIONS, ...VTD_CAPS];

/** What an axis name refers to. */
export type Axis =
  | { readonly kind: "variant"; readonly family: string }
  | { readonly kind: "switch"; readonly iommu?: string; readonly name: string };

/** Classifies an axis name, or returns why it is not one. */
export function axisOf(name: string, head: SpecHead): Axis | string {
  if (name in VARIANT_FAMILIES) return { kind: "variant", family: name };
  const dot = name.indexOf(".");
  const iommu = dot < 0 ? undefined : name.slice(0, dot);
  const sw = dot < 0 ? name : name.slice(dot + 1);
  if (iommu !== undefined && !(iommu in head.iommus)) return `no IOMMU named "${iommu}"`;
  if (SWITCHES.includes(sw)) return { kind: "switch", iommu, name: sw };
  const near = suggest(name, [...Object.keys(VARIANT_FAMILIES), ...SWITCHES]);
  return `"${name}" is neither a variant family nor a feature` +
    (near ? `; did you mean "${near}"?` : "");
}

/**
 * The switches (features, options, capabilities) of IOMMU `iommu` in a cell: the declared
 * ones with the cell's axes applied. `known` are the switches this IOMMU's kind has; an axis
 * naming another kind's switch leaves it alone.
 */
export function cellSwitches(
  spec: LoadedSpec,
  cell: Cell,
  iommu: string,
  sw: { readonly known: readonly string[]; readonly declared: Iterable<string> },
): Set<string> {
  const on = new Set(sw.declared);
  for (const [axis, v] of Object.entries(cell.values)) {
    const a = axisOf(axis, spec.head);
    if (typeof a === "string" || a.kind !== "switch" || !sw.known.includes(a.name)) continue;
    if (a.iommu !== undefined && a.iommu !== iommu) continue;
    if (v === true) on.add(a.name);
    else on.delete(a.name);
  }
  return on;
}

/** Checks the matrix and `variant:` of a scenario; problems go to `diags`. */
export function checkMatrix(head: SpecHead, locator: SourceLocator, diags: Diagnostic[]): void {
  const ctx = { locator, diags };
  for (const [fam, v] of Object.entries(head.variant ?? {})) {
    const f = VARIANT_FAMILIES[fam];
    if (!f) {
      const near = suggest(fam, Object.keys(VARIANT_FAMILIES));
      specError(ctx, ["variant", fam], `Unknown variant family "${fam}"`, {
        key: true,
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: `families: ${Object.keys(VARIANT_FAMILIES).join(", ")}`,
      });
    } else if (!f.values.includes(v)) {
      specError(ctx, ["variant", fam], `Unknown ${fam} variant "${v}"`, {
        label: suggest(v, f.values) ? `did you mean "${suggest(v, f.values)}"?` : undefined,
        fixme: `${fam} variants: ${f.values.join(", ")}`,
      });
    }
  }
  for (const [name, values] of Object.entries(head.matrix ?? {})) {
    const axis = axisOf(name, head);
    if (typeof axis === "string") {
      const [title, label] = axis.split("; ");
      specError(ctx, ["matrix", name], `Unknown matrix axis: ${title}`, { key: true, label });
      continue;
    }
    values.forEach((v, i) => {
      if (axis.kind === "variant") {
        const f = VARIANT_FAMILIES[axis.family];
        if (typeof v !== "string" || !f.values.includes(v)) {
          specError(ctx, ["matrix", name, i], `Unknown ${axis.family} variant "${v}"`, {
            fixme: `${axis.family} variants: ${f.values.join(", ")}`,
          });
        }
      } else if (typeof v !== "boolean") {
        specError(ctx, ["matrix", name, i], `Matrix axis ${name} takes true or false, not "${v}"`);
      }
    });
  }
}

/**
 * Checks every `when:` of the steps: each axis must be a matrix axis or a variant family,
 * each value one the axis can take.
 */
export function checkWhen(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  const matrix = spec.head.matrix ?? {};
  for (const step of spec.steps) {
    for (const b of step.expect ?? []) {
      for (const [axis, values] of Object.entries(b.when ?? {})) {
        const path = [...b.path, "when", axis];
        const family = VARIANT_FAMILIES[axis];
        const allowed: readonly AxisValue[] | undefined = axis in matrix
          ? matrix[axis]
          : family?.values;
        if (!allowed) {
          const near = suggest(axis, [...Object.keys(matrix), ...Object.keys(VARIANT_FAMILIES)]);
          specError(ctx, path, `Unknown when: axis "${axis}"`, {
            key: true,
            label: near ? `did you mean "${near}"?` : undefined,
            fixme: `when: takes matrix axes (${
              Object.keys(matrix).join(", ") || "none"
            }) or variant families`,
          });
          continue;
        }
        for (const v of values) {
          if (!allowed.includes(v)) {
            specError(ctx, path, `when: ${axis} never takes the value ${JSON.stringify(v)}`, {
              fixme: `${axis} takes ${allowed.map((x) => JSON.stringify(x)).join(", ")}`,
            });
          }
        }
      }
    }
  }
}

/** All cells of the matrix, in spec order (the last axis varies fastest). */
export function expandMatrix(head: SpecHead): Cell[] {
  let cells: Record<string, AxisValue>[] = [{}];
  for (const [axis, values] of Object.entries(head.matrix ?? {})) {
    cells = cells.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  }
  return cells.map((values) => ({
    values,
    name: Object.entries(values).map(([k, v]) => `${k}=${v}`).join(", "),
  }));
}

/** Whether a `when:` condition holds in a cell. Axes the cell lacks compare with defaults. */
export function whenHolds(
  when: Readonly<Record<string, readonly AxisValue[]>>,
  cell: Cell,
  variants: Readonly<Record<string, string>>,
): boolean {
  for (const [axis, accepted] of Object.entries(when)) {
    const v = axis in cell.values ? cell.values[axis] : variants[axis];
    if (!accepted.includes(v as AxisValue)) return false;
  }
  return true;
}
