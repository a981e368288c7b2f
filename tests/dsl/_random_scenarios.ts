// Random SMMUv3 scenarios for the stale-translation check's property tests: attach and detach
// (RID and PASID), map, unmap, DMA, flush_all and the flush-queue timer, on a small system
// where steps collide often: three devices (two with ATS, one of them with two StreamIDs and
// PASIDs), strict S1 domains, a non-strict one and an S2 one, and a handful of address slots.
import fc from "fast-check";
import type { Finding } from "../../lib/check/finding.ts";
import { buildWorld } from "../../dsl/build.ts";
import { checkStep } from "../../dsl/check.ts";
import { loadSpecObject } from "../../dsl/load.ts";
import { runStep } from "../../dsl/run.ts";
import type { SourceLocator } from "../../dsl/types.ts";

const HERE = { file: "random", start: { line: 1, col: 1 }, end: { line: 1, col: 2 } };
const LOCATOR: SourceLocator = {
  file: "random",
  text: "",
  at: () => HERE,
  keyAt: () => HERE,
  valueOffset: () => 0,
};

const DEVICES = ["nic0", "nic1", "dev1"] as const;
const PAGING = ["d1", "d2", "lazy", "s2"] as const;
const S1 = ["d1", "d2", "lazy"] as const;
const SLOTS = [0x40000n, 0x41000n, 0x42000n, 0x200000n, 0x201000n, 0x400000n];
const SIZES = [0x1000n, 0x2000n, 0x200000n];

const arbPasid = fc.option(fc.constantFrom(1, 2), { nil: undefined, freq: 2 });

/** One random step, as a spec writes it. */
export const arbStep: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      device: fc.constantFrom(...DEVICES),
      domain: fc.constantFrom(...PAGING, "identity"),
      pasid: arbPasid,
    }).map((a) => {
      // Only nic0 has PASIDs, and only stage-1 domains go at a PASID.
      const pasid = a.device === "nic0" && (S1 as readonly string[]).includes(a.domain)
        ? a.pasid
        : undefined;
      return { attach: { device: a.device, domain: a.domain, ...(pasid ? { pasid } : {}) } };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ device: fc.constantFrom(...DEVICES), pasid: arbPasid }).map((a) => ({
      detach: { device: a.device, ...(a.device === "nic0" && a.pasid ? { pasid: a.pasid } : {}) },
    })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      domain: fc.constantFrom(...PAGING),
      iova: fc.constantFrom(...SLOTS),
      size: fc.constantFrom(...SIZES),
      pa: fc.constantFrom(0x8000_0000n, 0x9000_0000n),
    }).map((a) => ({ map: { domain: a.domain, iova: a.iova, size: a.size, pa: a.pa + a.iova } })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      domain: fc.constantFrom(...PAGING),
      iova: fc.constantFrom(...SLOTS),
      size: fc.constantFrom(...SIZES),
    }).map((a) => ({ unmap: a })),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      device: fc.constantFrom(...DEVICES),
      iova: fc.constantFrom(...SLOTS),
      pasid: arbPasid,
      write: fc.boolean(),
    }).map((a) => ({
      dma: {
        device: a.device,
        iova: a.iova,
        write: a.write,
        ...(a.device === "nic0" && a.pasid ? { pasid: a.pasid } : {}),
      },
    })),
  },
  { weight: 1, arbitrary: fc.constantFrom(...PAGING).map((d) => ({ flush_all: { domain: d } })) },
  { weight: 1, arbitrary: fc.constant({ fq_flush: { domain: "lazy" } }) },
);

/** A random scenario: RIL or not, E2H or not, and 30 to 45 steps. */
export const arbScenario = fc.record({
  rangeInv: fc.boolean(),
  e2h: fc.boolean(),
  steps: fc.array(arbStep, { minLength: 30, maxLength: 45 }),
});

/** The head every random scenario shares, with an optional variant and injected faults. */
export function randomSpec(
  s: {
    readonly rangeInv: boolean;
    readonly e2h: boolean;
    readonly steps: readonly Record<string, unknown>[];
  },
  opts: { readonly variant?: string; readonly inject?: readonly string[] } = {},
): Record<string, unknown> {
  return {
    invspec: 1,
    name: "random",
    ...(opts.variant ? { variant: { "arm-smmu-v3": opts.variant } } : {}),
    ...(opts.inject ? { inject: { "arm-smmu-v3": opts.inject } } : {}),
    iommus: {
      smmu0: {
        kind: "smmuv3",
        features: ["ats", ...(s.rangeInv ? ["range_inv"] : []), ...(s.e2h ? ["e2h"] : [])],
      },
    },
    devices: {
      nic0: { iommu: "smmu0", sids: [0x10], ats: true, pasid_bits: 4 },
      nic1: { iommu: "smmu0", sids: [0x30, 0x31], ats: true },
      dev1: { iommu: "smmu0", sids: [0x20] },
    },
    domains: {
      d1: { stage: "s1" },
      d2: { stage: "s1" },
      lazy: { stage: "s1", strict: false },
      s2: { stage: "s2" },
    },
    steps: s.steps,
  };
}

/** Runs a spec object step by step with the check after each; returns the findings and steps. */
export function runChecked(spec: Record<string, unknown>): { findings: Finding[]; steps: number } {
  const loaded = loadSpecObject(spec, LOCATOR);
  if (loaded.diagnostics.length) {
    throw new Error(`random spec does not load: ${loaded.diagnostics[0].title}`);
  }
  const [s] = loaded.specs;
  const world = buildWorld(s, { values: {}, name: "" });
  const findings: Finding[] = [];
  for (const step of s.steps) {
    const run = runStep(world, step);
    if (run.crash) throw run.crash;
    findings.push(...checkStep(world, step, run.events));
  }
  return { findings, steps: s.steps.length };
}
