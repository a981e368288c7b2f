// A small VT-d system for the cache and check tests: one unit dmar0 (scalable mode unless
// `legacy`) with the Intel driver model, an ATS endpoint "nic0" (RID 0x300, PASIDs) and a
// plain one "dev1" (RID 0x310), a second-stage domain S (DID 5) and a first-stage domain F
// (DID 6) with their page tables, and the memory view the unit reads. Map and unmap replay
// the page-table code's requests into the driver, as the DSL does; `unmapRaw` changes the
// tables only.
import assert from "node:assert/strict";
import {
  type DeviceDomainInfo,
  type DmarDomain,
  domainAlloc,
  intelFlushIotlbAll,
  intelIommuIotlbSyncMap,
  intelIommuProbeDevice,
  intelIommuTlbSync,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iommuDetachDevicePasid,
  type VtdVariant,
} from "../../../../lib/drivers/intel/mod.ts";
import { type EventLog, eventLogCreate } from "../../../../lib/events.ts";
import { atsDma, type AtsEndpoint, atsEndpointCreate } from "../../../../lib/hw/pci/ats.ts";
import {
  VTD_DEFAULT_CAPS,
  type VtdCap,
  type VtdIommu,
  vtdIommuCreate,
} from "../../../../lib/hw/vtd/iommu.ts";
import { type VtdMemory, vtdTranslate } from "../../../../lib/hw/vtd/translate.ts";
import { iommuMap, iommuUnmap } from "../../../../lib/pgtable/iommu.ts";
import { type IoPgtable, ioPgtableAlloc } from "../../../../lib/pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../../../../lib/pgtable/steps.ts";

/** The test system. */
export interface VtdSys {
  readonly log: EventLog;
  readonly iommu: VtdIommu;
  readonly nic: DeviceDomainInfo;
  readonly dev: DeviceDomainInfo;
  readonly ep: AtsEndpoint;
  readonly mem: VtdMemory;
  readonly domains: Record<string, { readonly d: DmarDomain; readonly pt: IoPgtable }>;
  /** Stamp given to fills (the "step"). */
  stamp: number;
}

/** Table bases of S and F in the memory view. */
export const ROOTS = { S: 0x7e00_0000_0000n, F: 0x7e00_0000_1000n } as const;

/** Builds the system; `legacy` turns scalable mode off, `caps` adds capability bits. */
export function vtdSys(opts: {
  readonly legacy?: boolean;
  readonly caps?: readonly VtdCap[];
  readonly variant?: VtdVariant;
} = {}): VtdSys {
  const log = eventLogCreate();
  const base = opts.legacy ? VTD_DEFAULT_CAPS.filter((c) => c !== "smts") : VTD_DEFAULT_CAPS;
  const iommu = vtdIommuCreate("dmar0", log, { caps: [...base, ...(opts.caps ?? [])] });
  const nic = intelIommuProbeDevice(iommu, { name: "nic0", sid: 0x300, ats: true, pasid: true });
  const dev = intelIommuProbeDevice(iommu, { name: "dev1", sid: 0x310 });
  const ep = atsEndpointCreate("nic0", { sids: [0x300] });
  ep.atsEnabled = true;
  iommu.hw.endpoints.set(0x300, ep);
  const pgtables = new Map<bigint, IoPgtable>();
  const mem: VtdMemory = {
    devices: new Map([[0x300, nic], [0x310, dev]]),
    pgtables,
    roots: new Map(Object.entries(ROOTS)),
  };
  iommu.hw.mem = mem;
  const domains: VtdSys["domains"] = {};
  for (const [name, did, kind] of [["S", 5, "ss_paging"], ["F", 6, "fs_paging"]] as const) {
    const d = domainAlloc(name, log, { kind, dids: { dmar0: did }, variant: opts.variant });
    const fmt = kind === "fs_paging" ? "x86_64" : "vtdss";
    const pt = ioPgtableAlloc(log, { fmt, pgsizeBitmap: 0x40201000n });
    pgtables.set(ROOTS[name], pt);
    domains[name] = { d, pt };
  }
  return { log, iommu, nic, dev, ep, mem, domains, stamp: 0 };
}

function replay(d: DmarDomain, steps: readonly PtStep[]): void {
  for (const r of ptRequests(steps)) {
    if (r.op === "iotlb_sync") {
      const g = r.gather;
      intelIommuTlbSync(d, { start: g.start, end: g.end, freelistNonEmpty: !g.freelistEmpty });
    } else if (r.op === "iotlb_sync_map") intelIommuIotlbSyncMap(d, r);
    else if (r.op === "flush_all") intelFlushIotlbAll(d);
  }
}

/** Attaches a device's RID (or a PASID) to S or F. */
export function attach(s: VtdSys, dev: DeviceDomainInfo, name: string, pasid?: number): void {
  const d = s.domains[name].d;
  const r = pasid === undefined
    ? iommuAttachDevice(d, dev)
    : iommuAttachDevicePasid(d, dev, { pasid });
  assert.equal(r, 0);
  s.ep.atsEnabled = s.nic.atsEnabled;
}

/** Detaches a device's RID (blocked) or one PASID. */
export function detach(s: VtdSys, dev: DeviceDomainInfo, pasid?: number): void {
  const r = pasid === undefined ? iommuDetachDevice(dev) : iommuDetachDevicePasid(dev, { pasid });
  assert.equal(r, 0);
  s.ep.atsEnabled = s.nic.atsEnabled;
}

/** iommu_map() with its requests replayed. */
export function map(s: VtdSys, name: string, o: { iova: bigint; size: bigint; pa: bigint }): void {
  const { d, pt } = s.domains[name];
  const r = iommuMap(pt, { iova: o.iova, paddr: o.pa, size: o.size });
  assert.equal(r.ret, 0);
  replay(d, r.steps);
}

/** iommu_unmap() with its requests replayed (the driver invalidates). */
export function unmap(s: VtdSys, name: string, o: { iova: bigint; size: bigint }): void {
  const { d, pt } = s.domains[name];
  replay(d, iommuUnmap(pt, o).steps);
}

/** iommu_unmap() whose requests never reach the driver (nothing is invalidated). */
export function unmapRaw(s: VtdSys, name: string, o: { iova: bigint; size: bigint }): void {
  iommuUnmap(s.domains[name].pt, o);
}

/** A DMA of `dev`: through its device TLB when ATS is on, else straight through the unit. */
export function dma(
  s: VtdSys,
  dev: DeviceDomainInfo,
  o: { iova: bigint; pasid?: number; write?: boolean },
): { pa?: bigint; fault?: string; from?: string } {
  const req = { sid: dev.sid, pasid: o.pasid ?? null, iova: o.iova, write: o.write ?? false };
  const opts = { mem: s.mem, scalable: s.iommu.hw.scalable, stamp: s.stamp };
  if (dev === s.nic && s.nic.atsEnabled) {
    const r = atsDma(s.ep, { ...req, stamp: s.stamp }, () => {
      const t = vtdTranslate(s.iommu.hw.caches, { ...req, ats: true }, opts);
      return t.ok ? { ok: true, ...t.leaf, from: t.from } : { ok: false, fault: t.fault, from: "" };
    });
    return r.ok ? { pa: r.pa, from: r.from } : { fault: r.fault };
  }
  const t = vtdTranslate(s.iommu.hw.caches, req, opts);
  return t.ok ? { pa: t.pa, from: t.from } : { fault: t.fault };
}
