/**
 * Specs in TypeScript: the same plain object a YAML file parses to, typed from the zod
 * schemas, with one helper per verb. One validator and one runner serve both forms.
 * @module
 */

import type { z } from "zod";
import type { SpecSchema } from "./decl.ts";
import { loadSpecObject } from "./load.ts";
import { renderDiagnostic } from "./frame.ts";
import type { RunReport } from "./report.ts";
import { checkSpec, type RunOptions, runScenario, scenariosOf } from "./suite.ts";
import type { Pos, SourceLocator, SourceRange, SpecPath } from "./types.ts";
import { type VerbName, VERBS } from "./verbs/mod.ts";
import { SpecFailure } from "./testing.ts";

/** A command line: canonical text, or `{ <iommu>: <text> }` with several IOMMUs. */
export type CommandLineInput = string | { readonly [iommu: string]: string };

/** One expectation block (the map form of `expect`). */
export interface ExpectBlockInput {
  /** Matrix condition: axis → value or values. */
  readonly when?: Readonly<
    Record<string, string | boolean | number | readonly (string | boolean | number)[]>
  >;
  /** The exact command sequence. */
  readonly commands?: readonly CommandLineInput[];
  /** `exact` (default) or `contains`. */
  readonly mode?: "exact" | "contains";
  /** 0 or an errno name. */
  readonly returns?: 0 | string;
  /** entry_num written back. */
  readonly entry_num?: number;
  /** Kernel WARNs, `function: what`. */
  readonly warnings?: readonly string[];
  /** A function expected not to finish. */
  readonly hang?: string;
  /** Area keys (`invs`, ...). */
  readonly [key: string]: unknown;
}

/** `expect`: a command list, one block, or blocks guarded by `when:`. */
export type ExpectInput =
  | readonly CommandLineInput[]
  | ExpectBlockInput
  | readonly ExpectBlockInput[];

/** What a step may carry besides its verb. */
export interface StepExtras {
  /** Expectations of the step. */
  readonly expect?: ExpectInput;
  /** A label shown in reports. */
  readonly name?: string;
}

type Verbs = typeof VERBS;

/** One step: exactly one verb key with its arguments, plus extras. */
export type StepInput = {
  [K in VerbName]: { readonly [P in K]: z.input<Verbs[K]["schema"]> } & StepExtras;
}[VerbName];

/** A scenario as written in TypeScript; `steps` typed per verb. */
export type SpecInput = Omit<z.input<typeof SpecSchema>, "steps"> & {
  readonly steps: readonly StepInput[];
};

const SITES = new WeakMap<object, SourceRange>();

/** The file:line:col of the caller `depth` frames up (for TS spec positions). */
function callSite(depth: number): SourceRange {
  const line = (new Error().stack ?? "").split("\n")[depth + 1] ?? "";
  const m = /\(?((?:file|https?):\/\/[^\s)]+?|\/[^\s)]+?):(\d+):(\d+)\)?\s*$/.exec(line);
  const file = m ? m[1].replace(/^file:\/\//, "") : "<typescript>";
  const start: Pos = { line: m ? Number(m[2]) : 1, col: m ? Number(m[3]) : 1 };
  return { file, start, end: { line: start.line, col: start.col + 1 } };
}

/**
 * Declares a scenario in TypeScript. Returns the object unchanged (so it is identical to
 * what the YAML form parses to) and remembers where it was written for error positions.
 */
export function defineSpec<const S extends SpecInput>(spec: S): S {
  SITES.set(spec, callSite(2));
  return spec;
}

type StepHelpers = {
  readonly [K in VerbName]: (
    args: z.input<Verbs[K]["schema"]>,
    extras?: StepExtras,
  ) => { readonly [P in K]: z.input<Verbs[K]["schema"]> } & StepExtras;
};

/** One helper per verb: `step.tlbi_range({...}, { expect: [...] })` → `{ tlbi_range: {...}, expect }`. */
export const step: StepHelpers = Object.fromEntries(
  Object.keys(VERBS).map((verb) => [
    verb,
    (args: unknown, extras: StepExtras = {}) => {
      const s = { [verb]: args, ...extras };
      SITES.set(s, callSite(2));
      return s;
    },
  ]),
) as unknown as StepHelpers;

/** A locator for a TS spec: every element points at its step's call, or at defineSpec. */
function tsLocator(spec: SpecInput, file?: string): SourceLocator {
  const home = SITES.get(spec) ?? callSite(3);
  const f = file ?? home.file;
  const at = (path: SpecPath): SourceRange => {
    if (path[0] === "steps" && typeof path[1] === "number") {
      const s = spec.steps[path[1]];
      const site = s && SITES.get(s);
      if (site) return { ...site, file: f };
    }
    return { ...home, file: f };
  };
  return { file: f, text: "", at, keyAt: at, valueOffset: () => 0 };
}

/** Validates and runs a TS spec (every matrix cell). */
export function runSpec(
  spec: SpecInput,
  opts: RunOptions & { readonly file?: string } = {},
): RunReport {
  const locator = tsLocator(spec, opts.file);
  const loaded = loadSpecObject(spec, locator);
  const specErrors = [...loaded.diagnostics];
  const scenarios = [];
  for (const s of loaded.specs) {
    checkSpec(s, specErrors);
    if (specErrors.length === 0) {
      scenarios.push(...scenariosOf(s).map((scn) => runScenario(scn, opts)));
    }
  }
  return { scenarios, specErrors, sources: new Map(), focused: false };
}

/** The `Deno.test` cases of a TS spec, one per matrix cell, like `specTests` for YAML. */
export function specObjectTests(
  spec: SpecInput,
  opts: { readonly file?: string } = {},
): Deno.TestDefinition[] {
  const report = runSpec(spec, opts);
  const render = (ds: readonly Parameters<typeof renderDiagnostic>[0][]) =>
    ds.flatMap((d) => renderDiagnostic(d, report.sources)).join("\n");
  if (report.specErrors.length) {
    return [{
      name: `${spec.name} (spec error)`,
      fn: () => {
        throw new SpecFailure(render(report.specErrors));
      },
    }];
  }
  return report.scenarios.map((r) => ({
    name: r.scenario.name,
    ignore: r.status === "skip",
    fn: async (t) => {
      for (const st of r.steps) {
        await t.step(st.title, () => {
          if (st.status === "fail" && r.status !== "xfail") {
            throw new SpecFailure(render(st.failures));
          }
        });
      }
      if (r.errors.length) throw new SpecFailure(render(r.errors));
      if (r.status === "xpass") {
        throw new SpecFailure(`XPASS: marked xfail "${r.reason}" but passed`);
      }
    },
  }));
}
