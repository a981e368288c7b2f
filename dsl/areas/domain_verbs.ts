/**
 * Verbs every IOMMU kind understands: attach/detach of a device (RID or PASID), map/unmap
 * through the domain's page table (the requests the page-table code and the iommu core make
 * are replayed into the driver), flush_all, and the DMA flush queue of non-strict domains.
 * @module
 */

import { z } from "zod";
import { iommuMap, iommuUnmap } from "../../lib/pgtable/iommu.ts";
import { iommuDmaUnmap, iovaFqFlush } from "../../lib/pgtable/flush_queue.ts";
import { ptRequests, type PtStep } from "../../lib/pgtable/steps.ts";
import { Name, U64, uint } from "../schema.ts";
import { defineVerb } from "../verbs/verb.ts";
import type { DomainInst, StepOutcome, World } from "../world.ts";
import type { Area, KindOps } from "./area.ts";
import type { ExpectExt } from "../expect_ext.ts";
import { specError } from "../expect.ts";
import type { SpecPath } from "../types.ts";
import { SMMUV3_OPS } from "./smmuv3.ts";
import { VTD_KIND_OPS } from "./vtd_ops.ts";

/** The driver model behind each IOMMU kind. */
export const KIND_OPS: Readonly<Record<string, KindOps>> = {
  smmuv3: SMMUV3_OPS,
  vtd: VTD_KIND_OPS,
};

function opsOf(kind: string): KindOps {
  const ops = KIND_OPS[kind];
  if (!ops) throw new TypeError(`invspec bug: no driver model for IOMMU kind ${kind}`);
  return ops;
}

function pagingDomain(
  world: World,
  name: string,
): DomainInst & { readonly pt: NonNullable<DomainInst["pt"]> } {
  const d = world.domains[name];
  if (!d?.pt) throw new TypeError(`invspec bug: domain "${name}" has no page table`);
  return d as DomainInst & { readonly pt: NonNullable<DomainInst["pt"]> };
}

function replay(world: World, d: DomainInst, steps: readonly PtStep[]): void {
  for (const r of ptRequests(steps)) opsOf(d.kind).request(world, d, r);
}

const BUILTIN_DOMAINS = ["blocked", "identity"];

/** The generic verbs. */
export const DOMAIN_VERBS = [
  defineVerb({
    name: "attach",
    doc: "attach a device's RID (or one PASID) to a domain, through the iommu core",
    schema: z.strictObject({
      device: Name,
      domain: Name.meta({ description: "a declared domain, or blocked / identity" }),
      pasid: uint(20).optional(),
      path: z.enum(["core", "driver"]).optional().meta({
        description:
          "core (default): the iommu core's __iommu_group_set_domain(), as iommufd and VFIO replace domains: no driver call for the current domain; driver: call attach_dev anyway",
      }),
    }),
    refs: { device: "devices", domain: "domains" },
    apply(world, a): StepOutcome {
      return opsOf(world.devices[a.device].kind).attach(world, a);
    },
  }),
  defineVerb({
    name: "detach",
    doc: "detach a device's RID (to the blocked domain, or identity) or remove one PASID",
    schema: z.strictObject({
      device: Name,
      pasid: uint(20).optional(),
      to: z.enum(["blocked", "identity"]).optional(),
      path: z.enum(["core", "driver"]).optional(),
    }),
    refs: { device: "devices" },
    apply(world, a): StepOutcome {
      return opsOf(world.devices[a.device].kind).detach(world, a);
    },
  }),
  defineVerb({
    name: "map",
    doc: "iommu_map(): map [iova, iova+size) to pa (default: pa = iova)",
    schema: z.strictObject({ domain: Name, iova: U64, size: U64, pa: U64.optional() }),
    refs: { domain: "domains" },
    apply(world, a): StepOutcome {
      const d = pagingDomain(world, a.domain);
      const r = iommuMap(d.pt, { iova: a.iova, paddr: a.pa ?? a.iova, size: a.size });
      replay(world, d, r.steps);
      return r.ret === 0 ? {} : { returns: r.ret.errno };
    },
  }),
  defineVerb({
    name: "unmap",
    doc: "iommu_unmap() (or the DMA API's deferred unmap on a non-strict domain)",
    schema: z.strictObject({ domain: Name, iova: U64, size: U64 }),
    refs: { domain: "domains" },
    apply(world, a): StepOutcome {
      const d = pagingDomain(world, a.domain);
      const r = d.fq
        ? iommuDmaUnmap(d.pt, d.fq, { iova: a.iova, size: a.size })
        : iommuUnmap(d.pt, { iova: a.iova, size: a.size });
      replay(world, d, r.steps);
      return { values: { unmapped: r.unmapped } };
    },
  }),
  defineVerb({
    name: "flush_all",
    doc: "flush_iotlb_all(): invalidate everything the domain may have cached",
    schema: z.strictObject({ domain: Name }),
    refs: { domain: "domains" },
    apply(world, a): StepOutcome {
      const d = world.domains[a.domain];
      opsOf(d.kind).request(world, d, { op: "flush_all" });
      return {};
    },
  }),
  defineVerb({
    name: "fq_flush",
    doc:
      "the DMA flush-queue timer fires on a non-strict domain: one flush_all for the queued unmaps",
    schema: z.strictObject({ domain: Name }),
    refs: { domain: "domains" },
    apply(world, a): StepOutcome {
      const d = pagingDomain(world, a.domain);
      if (d.fq) replay(world, d, iovaFqFlush(d.pt, d.fq));
      return {};
    },
  }),
] as const;

/** Domain names every spec may use without declaring them. */
export { BUILTIN_DOMAINS };

/** `unmapped:` the byte count iommu_unmap() returned (it may exceed the request). */
const UNMAPPED_EXPECT: ExpectExt = {
  doc: "bytes iommu_unmap() reported unmapped (a whole block or table may exceed the request)",
  parse(raw, path, ctx) {
    const r = U64.safeParse(raw);
    if (r.success) return { value: r.data, path };
    specError(ctx, path, "Cannot read unmapped: expected a size such as 8K or 0x2000");
  },
  check(_world, parsed, outcome) {
    const want = parsed as { value: bigint; path: SpecPath };
    const got = outcome.values?.unmapped;
    if (got === want.value) return [];
    const show = (v: unknown) => typeof v === "bigint" ? `0x${v.toString(16)}` : "nothing";
    return [{ path: want.path, title: `unmapped ${show(got)}, expected ${show(want.value)}` }];
  },
};

/** The generic verbs' own expectation keys. */
export const DOMAIN_AREA: Area = { name: "domain", expect: { unmapped: UNMAPPED_EXPECT } };
