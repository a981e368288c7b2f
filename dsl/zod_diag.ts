/**
 * Zod issues → diagnostics at the YAML nodes they name, with "did you mean" for unknown keys
 * and values (the keys a strict object accepts are found by walking the schema along the
 * data).
 * @module
 */

import type { z } from "zod";
import { suggest } from "../lib/suggest.ts";
import { IOMMU_KINDS } from "./decl.ts";
import { specError } from "./expect.ts";
import type { Diagnostic, SourceLocator, SpecPath } from "./types.ts";

type ZodDef = { type: string; [k: string]: unknown };
const defOf = (s: unknown) => (s as { _zod: { def: ZodDef } })._zod.def;

/** Keys a strict object at `path` accepts, walking the schema along the data. */
function knownKeysAt(schema: z.ZodType, data: unknown, path: SpecPath): string[] {
  let s: unknown = schema;
  let d: unknown = data;
  for (let i = 0; i <= path.length; i++) {
    for (;;) {
      const def = defOf(s);
      if (["optional", "default", "nullable", "readonly", "prefault"].includes(def.type)) {
        s = def.innerType;
      } else if (def.type === "pipe") s = def.in;
      else if (def.type === "union") {
        const opts = def.options as unknown[];
        const disc = def.discriminator as string | undefined;
        const dv = disc && d && typeof d === "object"
          ? (d as Record<string, unknown>)[disc]
          : undefined;
        s = opts.find((o) => {
          const od = defOf(o);
          const shape = od.shape as Record<string, unknown> | undefined;
          return od.type === "object" && shape && disc &&
            (defOf(shape[disc]).values as unknown[] | undefined)?.includes(dv);
        }) ?? opts.find((o) => defOf(o).type === "object") ?? opts[0];
        if (defOf(s).type === "union") break;
      } else break;
    }
    const def = defOf(s);
    if (i === path.length) return def.type === "object" ? Object.keys(def.shape as object) : [];
    const k = path[i];
    d = d && typeof d === "object" ? (d as Record<string | number, unknown>)[k] : undefined;
    if (def.type === "object") s = (def.shape as Record<string, unknown>)[k as string];
    else if (def.type === "record") s = def.valueType;
    else if (def.type === "array") s = def.element;
    else return [];
    if (!s) return [];
  }
  return [];
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let d = data;
  for (const k of path) {
    d = d && typeof d === "object" ? (d as Record<PropertyKey, unknown>)[k] : undefined;
  }
  return d;
}

function pathName(path: SpecPath): string {
  let s = "";
  for (const k of path) s += typeof k === "number" ? `[${k}]` : (s ? "." : "") + k;
  return s;
}

/** Turns zod issues into diagnostics at the YAML nodes they name. */
export function zodDiagnostics(
  ctx: { locator: SourceLocator; diags: Diagnostic[] },
  issues: readonly z.core.$ZodIssue[],
  opts: { schema: z.ZodType; data: unknown; base: SpecPath; what: string },
): void {
  for (const iss of issues) {
    const rel = iss.path as (string | number)[];
    const path = [...opts.base, ...rel];
    const got = valueAt(opts.data, rel);
    const name = rel.length ? pathName(rel) : opts.what;
    if (iss.code === "unrecognized_keys") {
      const known = knownKeysAt(opts.schema, opts.data, rel);
      for (const key of iss.keys) {
        const near = suggest(key, known);
        specError(ctx, [...path, key], `Unknown key "${key}" in ${rel.length ? name : opts.what}`, {
          key: true,
          label: near ? `did you mean "${near}"?` : undefined,
          fixme: known.length
            ? `${rel.length ? name : opts.what} takes ${known.join(", ")}`
            : undefined,
        });
      }
    } else if (got === undefined && rel.length > 0) {
      const parent = rel.length > 1 ? pathName(rel.slice(0, -1)) : opts.what;
      specError(ctx, path.slice(0, -1), `Missing key "${String(rel.at(-1))}" in ${parent}`);
    } else if (iss.code === "invalid_value" && iss.values) {
      const near = typeof got === "string" ? suggest(got, iss.values.map(String)) : undefined;
      specError(ctx, path, `Invalid value ${JSON.stringify(got)} for ${name}`, {
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: `expected one of: ${iss.values.map(String).join(", ")}`,
      });
    } else if (
      iss.code === "invalid_union" && "note" in iss && iss.note === "No matching discriminator"
    ) {
      const d = iss.discriminator ?? "kind";
      specError(ctx, [...path, d], `Unknown ${d} ${JSON.stringify(valueAt(got, [d]))} in ${name}`, {
        fixme: `IOMMU kinds: ${IOMMU_KINDS.join(", ")}`,
      });
    } else if (iss.code === "custom" && typeof iss.params?.offset === "number") {
      // A text value with a problem at a known offset (a command line): caret at the token.
      const base = ctx.locator.at(path);
      const col = base.start.col + ctx.locator.valueOffset(path) + iss.params.offset;
      const [title, label] = splitHint(iss.message);
      ctx.diags.push({
        severity: "error",
        title,
        label,
        range: {
          file: base.file,
          start: { line: base.start.line, col },
          end: { line: base.start.line, col: col + Math.max(1, iss.params.length ?? 1) },
        },
      });
    } else {
      specError(ctx, path, `Invalid ${name}: ${iss.message}`);
    }
  }
}

/** Splits "problem; hint" into a title and a caret label. */
export function splitHint(message: string): [string, string | undefined] {
  const i = message.indexOf("; ");
  return i < 0 ? [message, undefined] : [message.slice(0, i), message.slice(i + 2)];
}
