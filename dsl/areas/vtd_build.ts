/**
 * Builds the VT-d part of a World from a spec: the remapping units (in declaration order,
 * which is their `seq_id`), the probed endpoints, and the domains (second- or first-stage
 * paging with an iommupt table, nested on a declared parent, SVA with the process PASID),
 * all following the run's `intel` variant.
 * @module
 */

import {
  type DmarDomain,
  domainAlloc,
  type DomainKind,
  intelIommuProbeDevice,
  type VtdVariant,
} from "../../lib/drivers/intel/mod.ts";
import { VTD_CAPS, VTD_DEFAULT_CAPS, type VtdCap, vtdIommuCreate } from "../../lib/hw/vtd/mod.ts";
import { iovaFqCreate } from "../../lib/pgtable/flush_queue.ts";
import { type IoPgtable, ioPgtableAlloc } from "../../lib/pgtable/pgtable.ts";
import type { DomainDeclT } from "../decl.ts";
import type { LoadedSpec } from "../load.ts";
import { type Cell, cellSwitches } from "../matrix.ts";
import type { World } from "../world.ts";
import { domainKind } from "./smmuv3.ts";
import type { VtdDeclT } from "./vtd_decl.ts";
import type { VtdWorld } from "./vtd_world.ts";

/** 4K, 2M and 1G: what the VT-d page-table formats offer. */
const VTD_PGSIZE = 0x1000n | 0x200000n | 0x40000000n;

/** The capability bits of a declared unit: its flags over the defaults. */
export function vtdCapsOf(decl: VtdDeclT): VtdCap[] {
  return VTD_CAPS.filter((c) => decl[c] ?? VTD_DEFAULT_CAPS.includes(c));
}

function buildUnits(world: World, spec: LoadedSpec, cell: Cell): void {
  let seqId = 0;
  for (const [name, decl] of Object.entries(spec.head.iommus)) {
    if (decl.kind !== "vtd") continue;
    const caps = cellSwitches(spec, cell, name, { known: VTD_CAPS, declared: vtdCapsOf(decl) });
    const iommu = vtdIommuCreate(name, world.log, {
      caps: VTD_CAPS.filter((c) => caps.has(c)),
      mamv: decl.mamv,
      seqId: seqId++,
      translationEnabled: decl.translation,
    });
    world.iommus[name] = { kind: "vtd", iommu };
  }
}

function buildDevices(world: World, vtd: VtdWorld, spec: LoadedSpec): void {
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) {
    const inst = world.iommus[d.iommu];
    if (inst?.kind !== "vtd") continue;
    if (d.sid === undefined) throw new TypeError(`invspec bug: VT-d device ${name} has no sid`);
    vtd.devices.set(
      name,
      intelIommuProbeDevice(inst.iommu, {
        name,
        sid: d.sid,
        pfsid: d.pfsid,
        ats: d.ats,
        qdep: d.qdep,
        pasid: (d.pasid_bits ?? 0) > 0,
        extraDtlbFlush: d.extra_dtlb_flush,
      }),
    );
    world.devices[name] = { name, iommu: d.iommu, kind: "vtd" };
  }
}

/** The model's domain kind of a declared VT-d domain. */
export function vtdDomainKind(d: DomainDeclT): DomainKind {
  if (d.type === "nested") return "nested";
  if (d.type === "sva") return "sva";
  return d.level === "first" ? "fs_paging" : "ss_paging";
}

// Fixed domain ids by unit name: one number for every VT-d unit, or a map.
function didsOf(d: DomainDeclT, spec: LoadedSpec): Record<string, number> {
  if (typeof d.did !== "number") return { ...d.did };
  const units = Object.entries(spec.head.iommus).filter(([, i]) => i.kind === "vtd");
  return Object.fromEntries(units.map(([n]) => [n, d.did as number]));
}

function pgtableOf(world: World, spec: LoadedSpec, d: DomainDeclT, kind: DomainKind) {
  if (kind !== "ss_paging" && kind !== "fs_paging") return null;
  const unit = d.iommu ? spec.head.iommus[d.iommu] : undefined;
  const sizes = d.pgsize ?? (unit?.kind === "vtd" ? unit.pgsize : undefined);
  return ioPgtableAlloc(world.log, {
    fmt: kind === "fs_paging" ? "x86_64" : "vtdss",
    pgsizeBitmap: sizes ? sizes.reduce((a, s) => a | s, 0n) : VTD_PGSIZE,
  });
}

function buildDomain(world: World, spec: LoadedSpec, name: string, d: DomainDeclT): DmarDomain {
  const vtd = world.vtd as VtdWorld;
  const kind = vtdDomainKind(d);
  const parent = d.parent ? vtd.domains.get(d.parent) : undefined;
  const domain = domainAlloc(name, world.log, {
    kind,
    variant: world.variants.intel as VtdVariant,
    parent,
    nestParent: d.nest_parent,
    pasid: d.pasid,
    dids: didsOf(d, spec),
  });
  const pt: IoPgtable | null = pgtableOf(world, spec, d, kind);
  world.domains[name] = {
    name,
    kind: "vtd",
    pt,
    fq: d.strict === false && pt ? iovaFqCreate() : null,
  };
  return domain;
}

// Parents first: a nested domain is allocated on its parent's model object.
function buildDomains(world: World, vtd: VtdWorld, spec: LoadedSpec): void {
  const mine = Object.entries(spec.head.domains ?? {}).filter(([n]) =>
    domainKind(spec, n) === "vtd"
  );
  const ordered = [
    ...mine.filter(([, d]) => d.type !== "nested"),
    ...mine.filter(([, d]) => d.type === "nested"),
  ];
  for (const [name, d] of ordered) vtd.domains.set(name, buildDomain(world, spec, name, d));
}

/** Creates the VT-d models of `spec` in `world` (nothing when it declares no VT-d unit). */
export function buildVtd(world: World, spec: LoadedSpec, cell: Cell): void {
  if (!Object.values(spec.head.iommus).some((i) => i.kind === "vtd")) return;
  const vtd: VtdWorld = { devices: new Map(), domains: new Map() };
  world.vtd = vtd;
  buildUnits(world, spec, cell);
  buildDevices(world, vtd, spec);
  buildDomains(world, vtd, spec);
}
