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

/** The objects a generator draws from. */
interface RandomSystem {
  readonly devices: readonly string[];
  /** Domains a RID may be attached to. */
  readonly attach: readonly string[];
  /** Domains a PASID may be attached to (only nic0 has PASIDs). */
  readonly pasidDomains: readonly string[];
  /** Domains with a page table. */
  readonly paging: readonly string[];
  /** Weight of `dma` among the verbs. */
  readonly dmaWeight: number;
}

// One random step of `sys`, as a spec writes it.
function arbStepOf(sys: RandomSystem): fc.Arbitrary<Record<string, unknown>> {
  const device = fc.constantFrom(...sys.devices);
  const paging = fc.constantFrom(...sys.paging);
  const withPasid = (dev: string, pasid: number | undefined) =>
    dev === "nic0" && pasid ? { pasid } : {};
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({ device, domain: fc.constantFrom(...sys.attach), pasid: arbPasid })
        .map((a) => {
          const pasid = sys.pasidDomains.includes(a.domain) ? a.pasid : undefined;
          return { attach: { device: a.device, domain: a.domain, ...withPasid(a.device, pasid) } };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ device, pasid: arbPasid }).map((a) => ({
        detach: { device: a.device, ...withPasid(a.device, a.pasid) },
      })),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        domain: paging,
        iova: fc.constantFrom(...SLOTS),
        size: fc.constantFrom(...SIZES),
        pa: fc.constantFrom(0x8000_0000n, 0x9000_0000n),
      }).map((a) => ({ map: { domain: a.domain, iova: a.iova, size: a.size, pa: a.pa + a.iova } })),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        domain: paging,
        iova: fc.constantFrom(...SLOTS),
        size: fc.constantFrom(...SIZES),
      }).map((a) => ({ unmap: a })),
    },
    {
      weight: sys.dmaWeight,
      arbitrary: fc.record({
        device,
        iova: fc.constantFrom(...SLOTS),
        pasid: arbPasid,
        write: fc.boolean(),
      }).map((a) => ({
        dma: { device: a.device, iova: a.iova, write: a.write, ...withPasid(a.device, a.pasid) },
      })),
    },
    { weight: 1, arbitrary: paging.map((d) => ({ flush_all: { domain: d } })) },
    { weight: 1, arbitrary: fc.constant({ fq_flush: { domain: "lazy" } }) },
  );
}

/** One random SMMUv3 step: only stage-1 domains go at a PASID. */
export const arbStep: fc.Arbitrary<Record<string, unknown>> = arbStepOf({
  devices: DEVICES,
  attach: [...PAGING, "identity"],
  pasidDomains: S1,
  paging: PAGING,
  dmaWeight: 4,
});

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

/**
 * Runs a spec object step by step with the check after each; returns the findings and the
 * steps run.
 */
export function runChecked(spec: Record<string, unknown>): { findings: Finding[]; steps: number } {
  const loaded = loadSpecObject(spec, LOCATOR);
  if (loaded.diagnostics.length) {
    throw new Error(`random spec does not load: ${loaded.diagnostics[0].title}`);
  }
  const [s] = loaded.specs;
  const world = buildWorld(s, { values: {}, name: "" });
  const findings: Finding[] = [];
  let steps = 0;
  for (const step of s.steps) {
    steps++;
    const run = runStep(world, step);
    if (run.crash) throw run.crash;
    findings.push(...checkStep(world, step, run.events));
  }
  return { findings, steps };
}

// Random VT-d scenarios: one scalable-mode (or legacy-mode) unit dmar0 with two ATS endpoints
// (nic0 with PASIDs, nic1) and a plain one (dev1), and a second unit dmar1 with one ATS
// endpoint (gpu0) so domains span units; second-stage domains S and lazy (non-strict), a
// first-stage domain F; the same address slots and sizes as the SMMUv3 scenarios.
const VTD_DEVICES = ["nic0", "nic1", "dev1", "gpu0"] as const;
const VTD_PAGING = ["S", "F", "lazy"] as const;

/** One random VT-d step: any paging domain goes at a PASID. */
export const arbVtdStep: fc.Arbitrary<Record<string, unknown>> = arbStepOf({
  devices: VTD_DEVICES,
  attach: VTD_PAGING,
  pasidDomains: VTD_PAGING,
  paging: VTD_PAGING,
  dmaWeight: 5,
});

// Every device starts attached and every domain with mappings, so DMAs hit more often than
// they fault; nic0 also has PASID 1 on F (refused in legacy mode).
const VTD_PROLOGUE: readonly Record<string, unknown>[] = [
  { attach: { device: "nic0", domain: "S" } },
  { attach: { device: "nic1", domain: "F" } },
  { attach: { device: "gpu0", domain: "S" } },
  { attach: { device: "dev1", domain: "lazy" } },
  { attach: { device: "nic0", domain: "F", pasid: 1 } },
  { map: { domain: "S", iova: 0x40000n, size: 0x2000n, pa: 0x80040000n } },
  { map: { domain: "S", iova: 0x200000n, size: 0x200000n, pa: 0x80200000n } },
  { map: { domain: "F", iova: 0x40000n, size: 0x2000n, pa: 0x90040000n } },
  { map: { domain: "lazy", iova: 0x40000n, size: 0x2000n, pa: 0x90040000n } },
];

/**
 * A random VT-d scenario: scalable or legacy mode, caching mode or not, the prologue and 30
 * to 45 random steps (a DMA is sometimes repeated at once, to hit the caches it filled).
 */
export const arbVtdScenario = fc.record({
  legacy: fc.boolean(),
  cachingMode: fc.boolean(),
  steps: fc.array(fc.tuple(arbVtdStep, fc.boolean()), { minLength: 30, maxLength: 45 }).map(
    (xs) => [...VTD_PROLOGUE, ...xs.flatMap(([x, twice]) => twice && "dma" in x ? [x, x] : [x])],
  ),
});

/** The head every random VT-d scenario shares, with an optional `intel` variant. */
export function randomVtdSpec(
  s: {
    readonly legacy: boolean;
    readonly cachingMode: boolean;
    readonly steps: readonly Record<string, unknown>[];
  },
  opts: { readonly variant?: string } = {},
): Record<string, unknown> {
  const unit = { kind: "vtd", caching_mode: s.cachingMode, ...(s.legacy ? { smts: false } : {}) };
  return {
    invspec: 1,
    name: "random vtd",
    ...(opts.variant ? { variant: { intel: opts.variant } } : {}),
    iommus: { dmar0: unit, dmar1: unit },
    devices: {
      nic0: { iommu: "dmar0", sid: 0x300, ats: true, pasid_bits: 20 },
      nic1: { iommu: "dmar0", sid: 0x308, ats: true },
      dev1: { iommu: "dmar0", sid: 0x310 },
      gpu0: { iommu: "dmar1", sid: 0x8000, ats: true },
    },
    domains: {
      S: { level: "second" },
      F: { level: "first" },
      lazy: { level: "second", strict: false },
    },
    steps: s.steps,
  };
}
