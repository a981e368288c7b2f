/**
 * The VT-d part of the hardware area: every ATS-capable endpoint behind a VT-d unit gets an
 * ATS function with its device TLB, each unit sees the memory it reads (the driver's PASID
 * tables and context entries, and each paging domain's page table under a table base of
 * its own), and `dma` from a VT-d device goes through its device TLB (ATS on), else the
 * unit's IOTLB and tables.
 *
 * The model's PASID and context entries do not hold a table pointer, so each VT-d paging
 * domain gets a synthetic table base here, in declaration order, which the unit reads as
 * the pointer of every entry attached to that domain.
 * @module
 */

import { atsDma, atsEndpointCreate, type DmaResult } from "../../lib/hw/pci/ats.ts";
import type { DeviceDomainInfo } from "../../lib/drivers/intel/device.ts";
import { type VtdMemory, type VtdRequest, vtdTranslate } from "../../lib/hw/vtd/translate.ts";
import type { World } from "../world.ts";
import type { DmaArgs, HwState } from "./hw.ts";
import { vtdDeviceOf } from "./vtd_world.ts";

/** Where the synthetic VT-d table bases start (one 4K page apart). */
export const VTD_ROOT_BASE = 0x7e00_0000_0000n;

/**
 * Gives every VT-d paging domain its table base, every unit its memory view, and every
 * ATS-capable VT-d endpoint its ATS function.
 */
export function buildVtdHw(world: World, hw: HwState): void {
  const vtd = world.vtd;
  if (!vtd) return;
  let i = 0n;
  for (const name of vtd.domains.keys()) {
    if (world.domains[name]?.pt) hw.vtdRoots.set(name, VTD_ROOT_BASE + 0x1000n * i++);
  }
  const byUnit = new Map<string, Map<number, DeviceDomainInfo>>();
  for (const [name, dev] of vtd.devices) {
    const unit = dev.iommu.name;
    if (!byUnit.has(unit)) byUnit.set(unit, new Map());
    byUnit.get(unit)!.set(dev.sid, dev);
    if (!dev.atsSupported) continue;
    const ep = atsEndpointCreate(name, { sids: [dev.sid] });
    ep.atsEnabled = dev.atsEnabled;
    hw.endpoints[name] = ep;
    dev.iommu.hw.endpoints.set(dev.sid, ep);
  }
  for (const [name, inst] of Object.entries(world.iommus)) {
    if (inst.kind !== "vtd") continue;
    const mem: VtdMemory = {
      devices: byUnit.get(name) ?? new Map(),
      pgtables: hw.pgtables,
      roots: hw.vtdRoots,
    };
    inst.iommu.hw.mem = mem;
  }
}

/**
 * Puts the VT-d page tables in the shared table map and copies each endpoint's ATS state
 * from the driver (legacy mode turns ATS on and off with the context entry).
 */
export function vtdHwRefresh(world: World, hw: HwState): void {
  for (const [name, root] of hw.vtdRoots) {
    const pt = world.domains[name]?.pt;
    if (pt) hw.pgtables.set(root, pt);
  }
  for (const [name, dev] of world.vtd?.devices ?? []) {
    const ep = hw.endpoints[name];
    if (ep) ep.atsEnabled = dev.atsEnabled;
  }
}

/** The domain whose table base is `root`, if it is a VT-d one. */
export function vtdDomainAtRoot(hw: HwState, root: bigint): string | undefined {
  for (const [name, r] of hw.vtdRoots) if (r === root) return name;
  return undefined;
}

/**
 * A DMA of a VT-d device: untranslated while the unit's translation is disabled; through
 * the device TLB with ATS on; else through the unit. A unit without queued invalidation
 * flushes through registers the model does not execute, so it translates nothing.
 */
export function vtdDma(world: World, hw: HwState, a: DmaArgs): DmaResult {
  const dev = vtdDeviceOf(world, a.device);
  const unit = dev.iommu;
  const mem = unit.hw.mem;
  if (!mem) throw new TypeError(`invspec bug: VT-d unit ${unit.name} has no memory view`);
  if (!unit.translationEnabled) return { ok: true, pa: a.iova, from: "bypass" };
  if (!unit.qi) return { ok: false, fault: "UNMODELLED" };
  const req: VtdRequest = {
    sid: dev.sid,
    pasid: a.pasid ?? null,
    iova: a.iova,
    write: a.write ?? false,
  };
  const opts = { mem, scalable: unit.hw.scalable, stamp: hw.step };
  const ep = hw.endpoints[a.device];
  if (ep?.atsEnabled) {
    const r = atsDma(ep, { ...req, stamp: hw.step }, () => {
      const t = vtdTranslate(unit.hw.caches, { ...req, ats: true }, opts);
      return t.ok ? { ok: true, ...t.leaf, from: t.from } : { ok: false, fault: t.fault, from: "" };
    });
    return r.ok && r.from === "atc" ? { ...r, from: "devtlb" } : r;
  }
  const t = vtdTranslate(unit.hw.caches, req, opts);
  return t.ok ? { ok: true, pa: t.pa, from: t.from } : { ok: false, fault: t.fault };
}
