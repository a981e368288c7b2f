/**
 * The SMMUv3 area: builds SMMU instances, the arm-smmu-v3 driver, masters and domains, and
 * provides the SMMUv3-only verbs (the driver's invalidation entry points) and the `invs`
 * expectation (the domain's invalidation array).
 * @module
 */

import { z } from "zod";
import {
  armSmmuDeviceAdd,
  armSmmuDriverCreate,
  type ArmSmmuVariant,
  domainAllocPaging,
  domainAllocSva,
  domainInvRange,
  flushIotlbAll,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iommuRemoveDevicePasid,
  iotlbSync,
  isErr,
  masterProbe,
  mmArchInvalidateSecondaryTlbs,
  type SmmuDomain,
  tlbInvWalk,
} from "../../lib/drivers/arm-smmu-v3/mod.ts";
import {
  SMMU_FEATURES,
  SMMU_OPTIONS,
  smmuCreate,
  type SmmuFeature,
  type SmmuOption,
} from "../../lib/hw/smmuv3/smmu.ts";
import { iovaFqCreate } from "../../lib/pgtable/flush_queue.ts";
import { ioPgtableAlloc } from "../../lib/pgtable/pgtable.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec } from "../load.ts";
import { type Cell, cellSwitches } from "../matrix.ts";
import { Name, U64 } from "../schema.ts";
import type { Diagnostic } from "../types.ts";
import { defineVerb } from "../verbs/verb.ts";
import { type DomainInst, outcomeOf, type World } from "../world.ts";
import type { Area, KindOps } from "./area.ts";
import { INVS_EXPECT } from "./smmuv3_invs.ts";

const DEFAULT_PGSIZE = 0x1000n | 0x200000n | 0x40000000n;

function bitmapOf(sizes: readonly bigint[] | undefined): bigint | undefined {
  return sizes?.reduce((a, s) => a | s, 0n);
}

/** The driver, or a TypeError (an invspec bug: verbs check the kind first). */
function drvOf(world: World) {
  if (!world.smmuv3) throw new TypeError("invspec bug: no SMMUv3 driver in this World");
  return world.smmuv3;
}

/** The driver's domain behind a spec domain, or undefined for identity/blocked names. */
export function smmuDomainOf(world: World, name: string): SmmuDomain {
  const d = drvOf(world).domains.get(name);
  if (!d || (d.type !== "paging" && d.type !== "sva")) {
    throw new TypeError(`invspec bug: domain "${name}" is not an SMMUv3 paging or SVA domain`);
  }
  return d;
}

// Features and options of one SMMU after the matrix cell's switches.
function switchesFor(spec: LoadedSpec, cell: Cell, iommu: string, declared: readonly string[]) {
  const known = [...SMMU_FEATURES, ...SMMU_OPTIONS];
  const on = cellSwitches(spec, cell, iommu, { known, declared });
  const options = [...on].filter((x) => (SMMU_OPTIONS as readonly string[]).includes(x));
  return {
    options: options as SmmuOption[],
    features: [...on].filter((x) => !options.includes(x)) as SmmuFeature[],
  };
}

function buildSmmus(world: World, spec: LoadedSpec, cell: Cell): void {
  const drv = armSmmuDriverCreate(world.log, {
    variant: world.variants["arm-smmu-v3"] as ArmSmmuVariant,
    inject: spec.head.inject?.["arm-smmu-v3"],
  });
  world.smmuv3 = drv;
  let sortKey = 0;
  for (const [name, decl] of Object.entries(spec.head.iommus)) {
    if (decl.kind !== "smmuv3") continue;
    const sw = switchesFor(spec, cell, name, [...(decl.features ?? []), ...(decl.options ?? [])]);
    const smmu = smmuCreate(name, world.log, {
      ...sw,
      sortKey: sortKey++,
      asidBits: decl.asid_bits,
      vmidBits: decl.vmid_bits,
      ssidBits: decl.ssid_bits,
    });
    world.iommus[name] = { kind: "smmuv3", smmu };
    armSmmuDeviceAdd(drv, smmu, { pgsizeBitmap: bitmapOf(decl.pgsize) });
  }
}

function buildMasters(world: World, spec: LoadedSpec): void {
  const drv = drvOf(world);
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) {
    const inst = world.iommus[d.iommu];
    if (inst?.kind !== "smmuv3") continue;
    const m = masterProbe(drv, {
      name,
      smmu: inst.smmu,
      sids: d.sids ?? [],
      ats: d.ats,
      pci: d.pci,
      pasidBits: d.pasid_bits,
      canwbs: d.canwbs,
    });
    if (isErr(m)) throw new TypeError(`invspec bug: master ${name} failed to probe: ${m.errno}`);
    world.devices[name] = { name, iommu: d.iommu, kind: "smmuv3" };
  }
}

function buildDomains(world: World, spec: LoadedSpec): void {
  const drv = drvOf(world);
  for (const [name, d] of Object.entries(spec.head.domains ?? {})) {
    if (domainKind(spec, name) !== "smmuv3") continue;
    const type = d.type ?? "paging";
    const smmuInst = d.iommu ? world.iommus[d.iommu] : undefined;
    const smmu = smmuInst?.kind === "smmuv3" ? smmuInst.smmu : undefined;
    const firstSmmu = Object.values(world.iommus).find((i) => i.kind === "smmuv3")?.smmu;
    const pgsize = bitmapOf(d.pgsize) ?? bitmapOf(spec.head.iommus[d.iommu ?? ""]?.pgsize) ??
      (firstSmmu ? drv.instances.get(firstSmmu.name)?.pgsizeBitmap : undefined) ?? DEFAULT_PGSIZE;
    let pt = null;
    if (type === "paging") {
      const r = domainAllocPaging(drv, {
        name,
        stage: d.stage,
        nestParent: d.nest_parent,
        pgsizeBitmap: pgsize,
        smmu,
        id: d.stage === "s2" || d.nest_parent ? d.vmid : d.asid,
      });
      if (isErr(r)) throw new TypeError(`invspec bug: domain ${name}: ${r.errno}`);
      const s2 = d.stage === "s2" || d.nest_parent;
      pt = ioPgtableAlloc(world.log, {
        fmt: s2 ? "ARM_64_LPAE_S2" : "ARM_64_LPAE_S1",
        pgsizeBitmap: pgsize,
      });
    } else if (type === "sva") {
      const r = domainAllocSva(drv, { name, smmu, id: d.asid });
      if (isErr(r)) throw new TypeError(`invspec bug: domain ${name}: ${r.errno}`);
    } else if (type === "identity" || type === "blocked") {
      drv.domains.set(name, type === "identity" ? drv.identityDomain : drv.blockedDomain);
    }
    world.domains[name] = {
      name,
      kind: "smmuv3",
      pt,
      fq: d.strict === false && pt ? iovaFqCreate() : null,
    };
  }
}

/** The kind of IOMMU a domain lives on: its `iommu:`, else the scenario's only kind. */
export function domainKind(spec: LoadedSpec, name: string): string | undefined {
  const d = spec.head.domains?.[name];
  if (d?.iommu) return spec.head.iommus[d.iommu]?.kind;
  const kinds = new Set(Object.values(spec.head.iommus).map((i) => i.kind));
  return kinds.size === 1 ? [...kinds][0] : undefined;
}

function check(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  const owner = new Map<string, string>();
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) {
    const iommu = spec.head.iommus[d.iommu];
    if (iommu?.kind !== "smmuv3") continue;
    if (!d.sids) {
      specError(
        ctx,
        ["devices", name],
        `Device "${name}" needs sids: its IOMMU ${d.iommu} is an SMMUv3`,
      );
      continue;
    }
    for (const [i, sid] of d.sids.entries()) {
      const key = `${d.iommu}:${sid}`;
      if (owner.has(key)) {
        specError(
          ctx,
          ["devices", name, "sids", i],
          `StreamID 0x${sid.toString(16)} is also used by ${owner.get(key)}`,
        );
      }
      owner.set(key, name);
    }
  }
  for (const [name, d] of Object.entries(spec.head.domains ?? {})) {
    if (domainKind(spec, name) !== "smmuv3") continue;
    const s2 = d.stage === "s2" || d.nest_parent;
    if (d.asid !== undefined && s2) {
      specError(ctx, ["domains", name, "asid"], "A stage-2 domain has a VMID, not an ASID");
    }
    if (d.vmid !== undefined && !s2) {
      specError(ctx, ["domains", name, "vmid"], "Only stage-2 domains have a VMID");
    }
    if (d.type === "nested") {
      specError(
        ctx,
        ["domains", name, "type"],
        "Nested SMMUv3 domains are declared through iommufd (vIOMMU)",
      );
    }
  }
}

function checkDeclRefs(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) {
    if (!(d.iommu in spec.head.iommus)) {
      specError(ctx, ["devices", name, "iommu"], `No IOMMU named "${d.iommu}"`);
    }
  }
  for (const [name, d] of Object.entries(spec.head.domains ?? {})) {
    if (d.iommu && !(d.iommu in spec.head.iommus)) {
      specError(ctx, ["domains", name, "iommu"], `No IOMMU named "${d.iommu}"`);
    } else if (!domainKind(spec, name)) {
      specError(
        ctx,
        ["domains", name],
        `Domain "${name}": say which IOMMU it is on (iommu:), the scenario has several kinds`,
      );
    }
  }
}

/** The SMMUv3 implementation of the generic verbs. */
export const SMMUV3_OPS: KindOps = {
  attach(world, a) {
    const drv = drvOf(world);
    const master = drv.masters.get(a.device)!;
    // The built-in names need no declaration: the driver's shared static domains.
    const domain = drv.domains.get(a.domain) ??
      (a.domain === "identity" ? drv.identityDomain : drv.blockedDomain);
    if (a.pasid !== undefined) {
      return outcomeOf(iommuAttachDevicePasid(drv, master, { pasid: a.pasid, domain }));
    }
    return outcomeOf(iommuAttachDevice(drv, master, { domain, path: a.path }));
  },
  detach(world, a) {
    const drv = drvOf(world);
    const master = drv.masters.get(a.device)!;
    if (a.pasid !== undefined) {
      return outcomeOf(iommuRemoveDevicePasid(drv, master, { pasid: a.pasid }));
    }
    if (a.to === "identity") {
      return outcomeOf(
        iommuAttachDevice(drv, master, { domain: drv.identityDomain, path: a.path }),
      );
    }
    return outcomeOf(iommuDetachDevice(drv, master, { path: a.path }));
  },
  request(world, domain: DomainInst, req) {
    const drv = drvOf(world);
    const d = smmuDomainOf(world, domain.name);
    if (req.op === "flush_walk") tlbInvWalk(drv, d, req);
    else if (req.op === "iotlb_sync") iotlbSync(drv, d, req.gather);
    else if (req.op === "flush_all") flushIotlbAll(drv, d);
    // iotlb_sync_map: arm-smmu-v3 has no such op.
  },
};

const DomainArg = { domain: Name.meta({ description: "an SMMUv3 paging or SVA domain" }) };
const smmuDomain = { domain: "domains" } as const;

/** SMMUv3-only verbs: the driver's invalidation entry points. */
export const SMMUV3_VERBS = [
  defineVerb({
    name: "iotlb_sync",
    doc: "arm_smmu_iotlb_sync(): invalidate a gathered leaf range (start, size, page size)",
    schema: z.strictObject({ ...DomainArg, iova: U64, size: U64, pgsize: U64.optional() }),
    refs: smmuDomain,
    apply(world, a) {
      const d = smmuDomainOf(world, a.domain);
      iotlbSync(drvOf(world), d, {
        start: a.iova,
        end: a.iova + a.size - 1n,
        pgsize: a.pgsize ?? 0x1000n,
      });
      return {};
    },
  }),
  defineVerb({
    name: "flush_walk",
    doc: "arm_smmu_tlb_inv_walk(): page-table pages under the range were freed (non-leaf)",
    schema: z.strictObject({ ...DomainArg, iova: U64, size: U64, granule: U64.optional() }),
    refs: smmuDomain,
    apply(world, a) {
      tlbInvWalk(drvOf(world), smmuDomainOf(world, a.domain), {
        iova: a.iova,
        size: a.size,
        granule: a.granule ?? 0x1000n,
      });
      return {};
    },
  }),
  defineVerb({
    name: "invalidate",
    doc: "arm_smmu_domain_inv_range() called directly: iova, size, granule, leaf",
    schema: z.strictObject({
      ...DomainArg,
      iova: U64,
      size: U64,
      granule: U64.optional(),
      leaf: z.boolean().optional(),
    }),
    refs: smmuDomain,
    apply(world, a) {
      domainInvRange(drvOf(world), smmuDomainOf(world, a.domain), {
        iova: a.iova,
        size: a.size,
        granule: a.granule ?? 0x1000n,
        leaf: a.leaf ?? true,
      });
      return {};
    },
  }),
  defineVerb({
    name: "sva_invalidate",
    doc: "the SVA mmu notifier: [start, end) of the process changed (end ULONG_MAX: all)",
    schema: z.strictObject({ ...DomainArg, start: U64, end: U64 }),
    refs: smmuDomain,
    apply(world, a) {
      mmArchInvalidateSecondaryTlbs(drvOf(world), smmuDomainOf(world, a.domain), {
        start: a.start,
        end: a.end,
      });
      return {};
    },
  }),
] as const;

/** The SMMUv3 area. */
export const SMMUV3_AREA: Area = {
  name: "smmuv3",
  check(spec, diags) {
    checkDeclRefs(spec, diags);
    check(spec, diags);
  },
  build(world, spec, cell) {
    buildSmmus(world, spec, cell);
    buildMasters(world, spec);
    buildDomains(world, spec);
  },
  expect: { invs: INVS_EXPECT },
};
