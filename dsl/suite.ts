/**
 * Loaded specs → scenario runs (one per matrix cell) → results. Reads no files: callers
 * pass the texts in.
 * @module
 */

import { AREAS } from "./areas/mod.ts";
import { buildWorld } from "./build.ts";
import { type LoadedSpec, loadSpecText, sortDiagnostics } from "./load.ts";
import { matchStepChecked } from "./check.ts";
import type { MatchCtx, StepResult } from "./match.ts";
import { type Cell, checkMatrix, checkWhen, expandMatrix } from "./matrix.ts";
import { runStep } from "./run.ts";
import type { Diagnostic } from "./types.ts";

/** How a scenario ended. */
export type ScenarioStatus = "pass" | "fail" | "skip" | "xfail" | "xpass" | "error";

/** One scenario in one matrix cell. */
export interface Scenario {
  /** The validated spec the scenario comes from. */
  readonly spec: LoadedSpec;
  /** Its matrix cell. */
  readonly cell: Cell;
  /** `name` or `name [axis=value, ...]`. */
  readonly name: string;
  /** `file › name [cell]`, what --filter matches. */
  readonly fullName: string;
}

/** The verdict on one scenario. */
export interface ScenarioResult {
  /** What ran. */
  readonly scenario: Scenario;
  /** How it ended. */
  readonly status: ScenarioStatus;
  /** One verdict per step that ran. */
  readonly steps: readonly StepResult[];
  /** Internal errors (a model threw). */
  readonly errors: readonly Diagnostic[];
  /** Why it was skipped or is expected to fail. */
  readonly reason?: string;
}

/** All scenarios of a set of files, or the spec errors that stopped some of them. */
export interface Loaded {
  /** Scenarios of the specs that loaded, one per matrix cell. */
  readonly scenarios: Scenario[];
  /** Problems of the specs that did not. */
  readonly specErrors: Diagnostic[];
  /** File → text, for code frames. */
  readonly sources: Map<string, string>;
}

/** Loads spec files (already read) and expands their matrices. */
export function loadSuite(
  files: readonly { readonly file: string; readonly text: string }[],
): Loaded {
  const scenarios: Scenario[] = [];
  const specErrors: Diagnostic[] = [];
  const sources = new Map<string, string>();
  for (const { file, text } of files) {
    sources.set(file, text);
    const r = loadSpecText(file, text);
    specErrors.push(...r.diagnostics);
    for (const spec of r.specs) {
      const diags: Diagnostic[] = [];
      checkSpec(spec, diags);
      if (diags.length) {
        specErrors.push(...sortDiagnostics(diags));
        continue;
      }
      scenarios.push(...scenariosOf(spec));
    }
  }
  return { scenarios, specErrors, sources };
}

/** Load-time checks beyond the schema: matrix, `when:`, and each area's declarations. */
export function checkSpec(spec: LoadedSpec, diags: Diagnostic[]): void {
  checkMatrix(spec.head, spec.locator, diags);
  checkWhen(spec, diags);
  for (const area of AREAS) area.check?.(spec, diags);
}

/** The scenarios (one per matrix cell) of a loaded spec. */
export function scenariosOf(spec: LoadedSpec): Scenario[] {
  return expandMatrix(spec.head).map((cell) => {
    const name = cell.name ? `${spec.head.name} [${cell.name}]` : spec.head.name;
    return { spec, cell, name, fullName: `${spec.file} › ${name}` };
  });
}

/** Options for {@link runScenario}. */
export interface RunOptions {
  /** Loop budget of the models. */
  readonly budget?: number;
  /** Shown in the "--update" hint. */
  readonly updateHint?: string;
}

/** Runs every step of a scenario and judges it. */
export function runScenario(scn: Scenario, opts: RunOptions = {}): ScenarioResult {
  const { spec, cell } = scn;
  if (spec.head.skip !== undefined) {
    return { scenario: scn, status: "skip", steps: [], errors: [], reason: spec.head.skip };
  }
  const world = buildWorld(spec, cell, { budget: opts.budget });
  const ctx: MatchCtx = {
    cell,
    variants: world.variants,
    captures: new Map(),
    world,
    locator: spec.locator,
    queues: Object.keys(spec.head.iommus).length > 1,
    updateHint: opts.updateHint,
  };
  const steps: StepResult[] = [];
  const errors: Diagnostic[] = [];
  for (const step of spec.steps) {
    const run = runStep(world, step);
    if (run.crash) {
      errors.push({
        severity: "error",
        title: `Internal error in step ${step.index + 1} ${step.verb}: ${run.crash.message}`,
        range: spec.locator.keyAt([...step.path, step.verb]),
        detail: (run.crash.stack ?? "").split("\n").slice(1, 8).map((l) => l.trim()),
        fixme: "this is an invspec bug; please report it with the spec",
      });
      break;
    }
    steps.push(matchStepChecked(step, run, ctx, { check: spec.head.check, steps: spec.steps }));
  }
  const failed = steps.some((s) => s.status === "fail");
  let status: ScenarioStatus = errors.length ? "error" : failed ? "fail" : "pass";
  const xfail = spec.head.xfail;
  if (xfail !== undefined && status !== "error") status = failed ? "xfail" : "xpass";
  return { scenario: scn, status, steps, errors, reason: xfail };
}
