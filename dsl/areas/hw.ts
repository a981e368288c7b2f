/**
 * The hardware area: what the devices and the IOMMUs cache, for the stale-translation check.
 * It gives every ATS-capable SMMUv3 device an ATS function with its ATC, shows each SMMU the
 * memory it reads (the driver's stream table and CD tables, and each domain's page table
 * under the table base its CD or STE holds), does the same for VT-d units and their
 * endpoints (`hw_vtd.ts`), and provides the `dma` verb, through which caches fill, with its
 * `dma` and `stale` expectations. The check itself runs after every step (`dsl/check.ts`).
 * @module
 */

import { z } from "zod";
import { trace } from "../../lib/events.ts";
import type { Finding } from "../../lib/check/finding.ts";
import {
  atsDma,
  type AtsEndpoint,
  atsEndpointCreate,
  type DmaResult,
} from "../../lib/hw/pci/ats.ts";
import type { SmmuDevice } from "../../lib/hw/smmuv3/smmu.ts";
import {
  type SmmuMemory,
  smmuTranslate,
  type TranslateRequest,
} from "../../lib/hw/smmuv3/translate.ts";
import type { IoPgtable } from "../../lib/pgtable/pgtable.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec } from "../load.ts";
import { Name, U64, uint } from "../schema.ts";
import type { Diagnostic } from "../types.ts";
import { defineVerb } from "../verbs/verb.ts";
import type { StepOutcome, World } from "../world.ts";
import type { Area } from "./area.ts";
import { DMA_EXPECT, STALE_EXPECT } from "./hw_expect.ts";
import { buildVtdHw, vtdDma, vtdDomainAtRoot, vtdHwRefresh } from "./hw_vtd.ts";

/** The hardware side of a World. Plain data. */
export interface HwState {
  /** Index of the step running: the stamp of what caches fill. */
  step: number;
  /** ATS functions by device name. */
  readonly endpoints: Record<string, AtsEndpoint>;
  /** Page tables by table base, shared by every IOMMU's memory view. */
  readonly pgtables: Map<bigint, IoPgtable>;
  /** VT-d: the table base of each paging domain, by name. */
  readonly vtdRoots: Map<string, bigint>;
  /** Findings of the last checked step. */
  findings: Finding[];
}

/** The hardware state, or a TypeError (an invspec bug: the area always builds it). */
export function hwOf(world: World): HwState {
  if (!world.hw) throw new TypeError("invspec bug: no hardware state in this World");
  return world.hw;
}

/**
 * Brings the page-table map up to date: a domain gets its table base when the driver
 * finalises it (at its first attach), so the map is refreshed before each use.
 */
export function hwRefreshMemory(world: World): void {
  const hw = world.hw;
  if (!hw) return;
  hw.pgtables.clear();
  for (const d of world.smmuv3?.domains.values() ?? []) {
    if (d.type !== "paging") continue;
    const pt = world.domains[d.name]?.pt;
    const base = d.s1?.ttbr ?? d.s2?.vttbr;
    if (pt && base !== undefined) hw.pgtables.set(base, pt);
  }
  vtdHwRefresh(world, hw);
}

/** The domain whose page table sits at table base `root`, if any. */
export function domainAtRoot(world: World, root: bigint): string | undefined {
  for (const d of world.smmuv3?.domains.values() ?? []) {
    if (d.type === "paging" && (d.s1?.ttbr ?? d.s2?.vttbr) === root) return d.name;
  }
  return world.hw ? vtdDomainAtRoot(world.hw, root) : undefined;
}

function buildHw(world: World): void {
  const hw: HwState = {
    step: 0,
    endpoints: {},
    pgtables: new Map(),
    vtdRoots: new Map(),
    findings: [],
  };
  world.hw = hw;
  buildVtdHw(world, hw);
  const drv = world.smmuv3;
  if (!drv) return;
  for (const [name, inst] of Object.entries(world.iommus)) {
    if (inst.kind !== "smmuv3") continue;
    const masters = [...drv.masters.values()].filter((m) => m.smmu === inst.smmu);
    const mem: SmmuMemory = {
      strtab: drv.instances.get(name)?.strtab ?? new Map(),
      // The driver's own CD tables: their address and CDs change in place.
      cdTables: masters.map((m) => m.cdTable),
      pgtables: hw.pgtables,
    };
    inst.smmu.hw.mem = mem;
  }
  for (const m of drv.masters.values()) {
    if (!m.atsCapable) continue;
    const ep = atsEndpointCreate(m.name, { sids: m.streams });
    hw.endpoints[m.name] = ep;
    for (const sid of m.streams) m.smmu.hw.endpoints.set(sid, ep);
  }
}

/** Arguments of the `dma` verb. */
export interface DmaArgs {
  readonly device: string;
  readonly iova: bigint;
  readonly pasid?: number;
  readonly write?: boolean;
}

function smmuDma(
  smmu: SmmuDevice,
  ep: AtsEndpoint | undefined,
  req: TranslateRequest,
  stamp: number,
): DmaResult {
  const mem = smmu.hw.mem;
  if (!mem) throw new TypeError(`invspec bug: SMMU ${smmu.name} has no memory view`);
  if (ep?.atsEnabled) {
    return atsDma(ep, { pasid: req.ssid, iova: req.iova, write: req.write, stamp }, () => {
      const t = smmuTranslate(smmu.hw.caches, { ...req, ats: true }, { mem, stamp });
      return t.ok ? { ok: true, ...t.leaf, from: t.from } : { ok: false, fault: t.fault, from: "" };
    });
  }
  const t = smmuTranslate(smmu.hw.caches, req, { mem, stamp });
  return t.ok ? { ok: true, pa: t.pa, from: t.from } : { ok: false, fault: t.fault };
}

function smmuDmaOf(world: World, hw: HwState, a: DmaArgs): DmaResult {
  const master = world.smmuv3?.masters.get(a.device);
  if (!master) throw new TypeError(`invspec bug: ${a.device} is not an SMMUv3 master`);
  const sid = master.streams[0];
  const req = { sid, ssid: a.pasid ?? null, iova: a.iova, write: a.write ?? false };
  return smmuDma(master.smmu, hw.endpoints[a.device], req, hw.step);
}

function applyDma(world: World, a: DmaArgs): StepOutcome {
  const hw = hwOf(world);
  hwRefreshMemory(world);
  const r = world.devices[a.device]?.kind === "vtd"
    ? vtdDma(world, hw, a)
    : smmuDmaOf(world, hw, a);
  trace(world.log, "dma", {
    device: a.device,
    iova: a.iova,
    ...(a.pasid !== undefined ? { pasid: a.pasid } : {}),
    ...(r.ok ? { pa: r.pa, from: r.from } : { fault: r.fault }),
  });
  return {
    values: { pa: r.ok ? r.pa : null, fault: r.ok ? null : r.fault, from: r.ok ? r.from : null },
  };
}

/** `dma: { device, iova, pasid?, write? }`. */
export const DMA_VERB = defineVerb({
  name: "dma",
  doc: "the device reads (or writes) iova: through its ATC / device TLB if ATS is on, else " +
    "the IOMMU (SMMUv3 or VT-d unit); caches fill",
  schema: z.strictObject({
    device: Name,
    iova: U64,
    pasid: uint(20).optional().meta({ description: "PASID of the transaction (none: the RID)" }),
    write: z.boolean().optional().meta({ description: "a write (default: a read)" }),
  }),
  refs: { device: "devices" },
  apply: applyDma,
});

/** The hardware area's verbs. */
export const HW_VERBS = [DMA_VERB] as const;

function checkSteps(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  for (const step of spec.steps) {
    if (step.verb === "dma") {
      const a = step.args as DmaArgs;
      const iommu = spec.head.devices?.[a.device]?.iommu;
      const kind = iommu ? spec.head.iommus[iommu]?.kind : undefined;
      if (kind !== undefined && kind !== "smmuv3" && kind !== "vtd") {
        specError(
          ctx,
          [...step.path, "dma", "device"],
          `Cannot DMA from "${a.device}": only SMMUv3 and VT-d devices have a cache model`,
          {
            label: `${a.device} is behind ${iommu}, a ${kind}`,
          },
        );
      }
      if (a.pasid === 0) {
        specError(ctx, [...step.path, "dma", "pasid"], "PASID 0 is the RID's address space", {
          fixme: "leave pasid out for a transaction without PASID",
        });
      }
    }
    if (spec.head.check !== "off") continue;
    for (const b of step.expect ?? []) {
      for (const x of b.ext) {
        if (x.key === "stale") {
          specError(ctx, x.path, "Cannot expect stale entries with check: off", {
            fixme: "remove check: off, or the stale: expectation",
          });
        }
      }
    }
  }
}

/** The hardware area. Builds after the IOMMU areas, whose instances it reads. */
export const HW_AREA: Area = {
  name: "hw",
  check: checkSteps,
  build(world) {
    buildHw(world);
  },
  expect: { dma: DMA_EXPECT, stale: STALE_EXPECT },
};
