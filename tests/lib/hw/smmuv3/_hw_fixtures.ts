// A small system for the cache and check tests: one SMMU with the arm-smmu-v3 driver, an ATS
// device "nic0" (SID 0x10, PASIDs) and a plain device "dev1" (SID 0x20), S1 domains with
// their page tables, and the memory view the SMMU reads. Map and unmap replay the page-table
// code's requests into the driver, as the DSL does; `unmapRaw` changes the tables only.
import assert from "node:assert/strict";
import {
  armSmmuDeviceAdd,
  type ArmSmmuDriver,
  armSmmuDriverCreate,
  type ArmSmmuInject,
  type ArmSmmuMaster,
  type ArmSmmuVariant,
  domainAllocPaging,
  flushIotlbAll,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iotlbSync,
  isErr,
  masterProbe,
  type SmmuDomain,
  tlbInvWalk,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import { type EventLog, eventLogCreate } from "../../../../lib/events.ts";
import { atsDma, type AtsEndpoint, atsEndpointCreate } from "../../../../lib/hw/pci/ats.ts";
import { smmuCreate, type SmmuDevice, type SmmuFeature } from "../../../../lib/hw/smmuv3/smmu.ts";
import {
  type SmmuMemory,
  smmuTranslate,
  type TranslateResult,
} from "../../../../lib/hw/smmuv3/translate.ts";
import { iommuMap, iommuUnmap } from "../../../../lib/pgtable/iommu.ts";
import { type IoPgtable, ioPgtableAlloc } from "../../../../lib/pgtable/pgtable.ts";
import { ptRequests, type PtStep } from "../../../../lib/pgtable/steps.ts";

/** The test system. */
export interface HwSys {
  readonly log: EventLog;
  readonly drv: ArmSmmuDriver;
  readonly smmu: SmmuDevice;
  readonly nic: ArmSmmuMaster;
  readonly dev: ArmSmmuMaster;
  readonly ep: AtsEndpoint;
  readonly mem: SmmuMemory;
  readonly domains: Record<string, { readonly d: SmmuDomain; readonly pt: IoPgtable }>;
  /** Stamp given to fills (the "step"). */
  stamp: number;
}

/** Builds the system with S1 domains d1 (ASID 1) and d2 (ASID 2). */
export function hwSys(opts: {
  readonly features?: readonly SmmuFeature[];
  readonly variant?: ArmSmmuVariant;
  readonly inject?: readonly ArmSmmuInject[];
} = {}): HwSys {
  const log = eventLogCreate();
  const drv = armSmmuDriverCreate(log, { variant: opts.variant, inject: opts.inject });
  const smmu = smmuCreate("smmu0", log, { features: [...(opts.features ?? ["range_inv", "ats"])] });
  armSmmuDeviceAdd(drv, smmu);
  const nic = masterProbe(drv, { name: "nic0", smmu, sids: [0x10], ats: true, pasidBits: 4 });
  const dev = masterProbe(drv, { name: "dev1", smmu, sids: [0x20] });
  assert.ok(!isErr(nic) && !isErr(dev));
  const ep = atsEndpointCreate("nic0", { sids: [0x10] });
  smmu.hw.endpoints.set(0x10, ep);
  const pgtables = new Map<bigint, IoPgtable>();
  const mem: SmmuMemory = {
    strtab: drv.instances.get("smmu0")!.strtab,
    cdTables: [nic.cdTable, dev.cdTable],
    pgtables,
  };
  smmu.hw.mem = mem;
  const domains: HwSys["domains"] = {};
  for (const [name, asid] of [["d1", 1], ["d2", 2]] as const) {
    const d = domainAllocPaging(drv, { name, smmu, id: asid, pgsizeBitmap: 0x40201000n });
    assert.ok(!isErr(d));
    const pt = ioPgtableAlloc(log, { pgsizeBitmap: 0x40201000n });
    pgtables.set(d.s1!.ttbr, pt);
    domains[name] = { d, pt };
  }
  return { log, drv, smmu, nic, dev, ep, mem, domains, stamp: 0 };
}

function replay(s: HwSys, d: SmmuDomain, steps: readonly PtStep[]): void {
  for (const r of ptRequests(steps)) {
    if (r.op === "flush_walk") tlbInvWalk(s.drv, d, r);
    else if (r.op === "iotlb_sync") iotlbSync(s.drv, d, r.gather);
    else if (r.op === "flush_all") flushIotlbAll(s.drv, d);
  }
}

/** Attaches a device's RID (or a PASID) to a domain. */
export function attach(s: HwSys, dev: ArmSmmuMaster, name: string, pasid?: number): void {
  const domain = s.domains[name].d;
  const r = pasid === undefined
    ? iommuAttachDevice(s.drv, dev, { domain })
    : iommuAttachDevicePasid(s.drv, dev, { pasid, domain });
  assert.equal(r, 0);
}

/** Detaches a device's RID (blocked). */
export function detach(s: HwSys, dev: ArmSmmuMaster): void {
  assert.equal(iommuDetachDevice(s.drv, dev), 0);
}

/** iommu_map() with its requests replayed. */
export function map(s: HwSys, name: string, o: { iova: bigint; size: bigint; pa: bigint }): void {
  const { d, pt } = s.domains[name];
  const r = iommuMap(pt, { iova: o.iova, paddr: o.pa, size: o.size });
  assert.equal(r.ret, 0);
  replay(s, d, r.steps);
}

/** iommu_unmap() with its requests replayed (the driver invalidates). */
export function unmap(s: HwSys, name: string, o: { iova: bigint; size: bigint }): void {
  const { d, pt } = s.domains[name];
  replay(s, d, iommuUnmap(pt, o).steps);
}

/** iommu_unmap() whose requests never reach the driver (nothing is invalidated). */
export function unmapRaw(s: HwSys, name: string, o: { iova: bigint; size: bigint }): void {
  iommuUnmap(s.domains[name].pt, o);
}

/** A DMA of `dev`: through the ATC when ATS is on, else straight through the SMMU. */
export function dma(
  s: HwSys,
  dev: ArmSmmuMaster,
  o: { iova: bigint; pasid?: number; write?: boolean },
): { pa?: bigint; fault?: string; from?: string } {
  const req = { sid: dev.streams[0], ssid: o.pasid ?? null, iova: o.iova, write: o.write ?? false };
  const stamp = s.stamp;
  if (dev === s.nic && s.ep.atsEnabled) {
    const r = atsDma(s.ep, { pasid: req.ssid, iova: o.iova, write: req.write, stamp }, () => {
      const t = smmuTranslate(s.smmu.hw.caches, { ...req, ats: true }, { mem: s.mem, stamp });
      return t.ok ? { ok: true, ...t.leaf, from: t.from } : { ok: false, fault: t.fault, from: "" };
    });
    return r.ok ? { pa: r.pa, from: r.from } : { fault: r.fault };
  }
  const t: TranslateResult = smmuTranslate(s.smmu.hw.caches, req, { mem: s.mem, stamp });
  return t.ok ? { pa: t.pa, from: t.from } : { fault: t.fault };
}
