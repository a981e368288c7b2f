/**
 * The stale-translation check after every step: the ordering rules on the step's queue
 * records, then every SMMU's and VT-d unit's caches and its devices' ATCs (device TLBs)
 * against memory. A finding fails the step unless the step pins it with
 * `expect: { stale: [...] }`; `check: off` turns it all off. Entries of a non-strict domain
 * (`strict: false`) may stay stale while their range waits in the domain's flush queue.
 * @module
 */

import { type Finding, findingLine } from "../lib/check/finding.ts";
import { orderingFindings } from "../lib/check/ordering.ts";
import { smmuCheck } from "../lib/check/smmuv3.ts";
import { vtdCheck } from "../lib/check/vtd.ts";
import type { Event } from "../lib/events.ts";
import { smmuCachesEmpty } from "../lib/hw/smmuv3/caches.ts";
import { vtdCachesEmpty } from "../lib/hw/vtd/caches.ts";
import { domainAtRoot, hwRefreshMemory } from "./areas/hw.ts";
import type { LoadedStep } from "./load.ts";
import { type MatchCtx, matchStep, type StepResult, stepTitle } from "./match.ts";
import { whenHolds } from "./matrix.ts";
import type { StepRun } from "./run.ts";
import type { Diagnostic } from "./types.ts";
import type { World } from "./world.ts";

/** Options of {@link checkStep}. */
export interface CheckStepOptions {
  /** The scenario's `check:` (default on). */
  readonly check?: "on" | "off";
}

// A stale entry of a non-strict domain waits for the flush queue while its range is queued.
function toleratedBy(world: World) {
  return (root: bigint, iova: bigint, size: bigint): boolean => {
    const name = domainAtRoot(world, root);
    const fq = name ? world.domains[name]?.fq : null;
    return !!fq?.entries.some((e) => e.iova < iova + size && iova < e.iova + e.size);
  };
}

/**
 * Runs the check after `step` (whose events are `events`); returns the findings to report
 * and keeps them in the World for the `stale` expectation. Advances the fill stamp.
 */
export function checkStep(
  world: World,
  step: LoadedStep,
  events: readonly Event[],
  opts: CheckStepOptions = {},
): Finding[] {
  if (!world.hw) return [];
  const findings: Finding[] = [];
  if (opts.check !== "off") {
    // A model stopped by the budget left its batch half sent: only the hang is reported.
    if (!events.some((e) => e.kind === "hang")) findings.push(...orderingFindings(events));
    if (!somethingCached(world)) return done(world, step, findings);
    hwRefreshMemory(world);
    const tolerated = toleratedBy(world);
    for (const inst of Object.values(world.iommus)) {
      if (inst.kind === "vtd") {
        findings.push(...vtdCheck(inst.iommu, { step: step.index, tolerated }));
        continue;
      }
      if (!inst.smmu.hw.mem) continue;
      findings.push(
        ...smmuCheck(inst.smmu, { step: step.index, mem: inst.smmu.hw.mem, tolerated }),
      );
    }
  }
  return done(world, step, findings);
}

// Whether any IOMMU or ATS function holds an entry (most specs have no DMA: nothing to check).
function somethingCached(world: World): boolean {
  for (const inst of Object.values(world.iommus)) {
    if (inst.kind === "smmuv3" && !smmuCachesEmpty(inst.smmu.hw.caches)) return true;
    if (inst.kind === "vtd" && !vtdCachesEmpty(inst.iommu.hw.caches)) return true;
  }
  return Object.values(world.hw?.endpoints ?? {}).some((ep) => ep.atc.entries.length > 0);
}

// Keeps the findings for the `stale` expectation and moves the fill stamp to the next step.
function done(world: World, step: LoadedStep, findings: Finding[]): Finding[] {
  const hw = world.hw!;
  hw.findings = findings;
  hw.step = step.index + 1;
  for (const inst of Object.values(world.iommus)) {
    if (inst.kind === "smmuv3") inst.smmu.hw.stamp = hw.step;
    else inst.iommu.hw.stamp = hw.step;
  }
  return findings;
}

/** How a finding fails a step that does not pin it. */
export function findingDiagnostic(
  f: Finding,
  step: LoadedStep,
  ctx: { readonly locator: MatchCtx["locator"]; readonly steps: readonly LoadedStep[] },
): Diagnostic {
  const since = f.since !== undefined ? ctx.steps.find((s) => s.index === f.since) : undefined;
  const staleSince = since ? `, stale since step ${stepTitle(since)}` : "";
  return {
    severity: "fail",
    title: `Step ${stepTitle(step)}: ${f.what}${staleSince}`,
    range: ctx.locator.keyAt([...step.path, step.verb]),
    label: f.since !== undefined ? "stale translation after this step" : "command order",
    detail: f.notes,
    fixme: `${f.fix}; if it is expected: expect: { stale: ["${findingLine(f, { short: true })}"] }`,
  };
}

function pinsFindings(step: LoadedStep, ctx: MatchCtx): boolean {
  return (step.expect ?? []).some((b) =>
    (!b.when || whenHolds(b.when, ctx.cell, ctx.variants)) && b.ext.some((x) => x.key === "stale")
  );
}

/**
 * Judges a step like {@link matchStep}, after running the check: findings the step does not
 * pin with `stale:` are failures of the step.
 */
export function matchStepChecked(
  step: LoadedStep,
  run: StepRun,
  ctx: MatchCtx,
  opts: CheckStepOptions & { readonly steps: readonly LoadedStep[] },
): StepResult {
  const findings = checkStep(ctx.world, step, run.events, opts);
  const r = matchStep(step, run, ctx);
  if (findings.length === 0 || pinsFindings(step, ctx)) return r;
  const more = findings.map((f) =>
    findingDiagnostic(f, step, { locator: ctx.locator, steps: opts.steps })
  );
  return { ...r, status: "fail", failures: [...r.failures, ...more] };
}
