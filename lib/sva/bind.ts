/**
 * Binding a process to a device (SVA): the process gets one global PASID at its first bind,
 * kept until the mm is dropped; a device bound twice to the same process shares the bond; a
 * new bond first tries each SVA domain the process already has (newest first) and allocates
 * a new one only if none attaches. The first domain of a process puts it on the list the
 * kernel-VA flush walks, and the first such process marks SVA present; unbinding undoes
 * each of these when the last user goes.
 * Models iommu_alloc_mm_data(), iommu_sva_bind_device(), iommu_sva_unbind_device() and
 * mm_pasid_drop() of drivers/iommu/iommu-sva.c with e37d5a2d60a3 (v6.18), and
 * iommu_alloc_global_pasid() of drivers/iommu/iommu.c.
 * @module
 */

import { trace } from "../events.ts";
import { errno, type ErrnoValue, isErr, type Ret } from "../errno.ts";
import {
  svaAttachDevPasid,
  svaDetachDevPasid,
  type SvaDev,
  svaDevMaxPasids,
  svaDevPasidDomain,
  type SvaDomain,
  svaDomainAlloc,
  svaDomainFree,
} from "./domain.ts";
import type { IommuMmData, Mm } from "./mm.ts";
import type { SvaSystem } from "./system.ts";

/** `IOMMU_FIRST_GLOBAL_PASID`: PASID 0 is the RID's. */
export const IOMMU_FIRST_GLOBAL_PASID = 1;

/** `struct iommu_sva`: one bond of a device to a process. */
export interface SvaHandle {
  /** The bound device. */
  readonly dev: SvaDev;
  /** The SVA domain attached at the process's PASID. */
  readonly domain: SvaDomain;
  /** Binds of this device to this process not yet unbound. */
  users: number;
}

/** Follows iommu_alloc_global_pasid(): the lowest free PASID below `max`, or -1. */
function allocGlobalPasid(sys: SvaSystem, max: number): number {
  for (let p = IOMMU_FIRST_GLOBAL_PASID; p < max; p++) {
    if (!sys.pasids.has(p)) {
      sys.pasids.add(p);
      return p;
    }
  }
  return -1;
}

/**
 * Follows iommu_alloc_mm_data(): the process's PASID data, made at its first bind. A PASID
 * the device cannot carry is -EOVERFLOW; no free PASID is -ENOSPC.
 */
export function iommuAllocMmData(sys: SvaSystem, mm: Mm, dev: SvaDev): IommuMmData | ErrnoValue {
  const max = svaDevMaxPasids(dev);
  if (mm.iommuMm) return mm.iommuMm.pasid >= max ? errno("EOVERFLOW") : mm.iommuMm;
  const pasid = allocGlobalPasid(sys, max);
  if (pasid < 0) return errno("ENOSPC");
  mm.iommuMm = { pasid, svaDomains: [] };
  return mm.iommuMm;
}

/** The bond of `dev` at `pasid`, if it has one. */
function handleFind(sys: SvaSystem, dev: SvaDev, pasid: number): SvaHandle | undefined {
  return sys.handles.find((h) =>
    h.dev.name === dev.name && h.domain.mm.iommuMm?.pasid === pasid && h.users > 0
  );
}

// The new-bond half of iommu_sva_bind_device(): an existing domain of the process, else a
// new one, which may put the process on the kernel-VA list.
function bindDomain(sys: SvaSystem, dev: SvaDev, mm: Mm): SvaDomain | ErrnoValue {
  const iommuMm = mm.iommuMm!;
  const pasid = iommuMm.pasid;
  for (const d of iommuMm.svaDomains) {
    if (svaAttachDevPasid(sys, d, { dev, pasid }) === 0) {
      d.users++;
      return d;
    }
  }
  const d = svaDomainAlloc(sys, dev, mm);
  if (isErr(d)) return d;
  const r = svaAttachDevPasid(sys, d, { dev, pasid });
  if (r !== 0) {
    svaDomainFree(sys, d);
    return r;
  }
  d.users = 1;
  if (iommuMm.svaDomains.length === 0) {
    if (sys.mms.length === 0) setPresent(sys, true);
    sys.mms.unshift(mm);
  }
  iommuMm.svaDomains.unshift(d);
  return d;
}

function setPresent(sys: SvaSystem, present: boolean): void {
  sys.present = present;
  trace(sys.log, "iommu_sva_present", { present });
}

/**
 * Follows iommu_sva_bind_device(): binds `dev` to `mm` at the process's PASID. A device
 * already bound to it takes another reference; a PASID of the device used by another kind
 * of domain is -EBUSY.
 */
export function svaBindDevice(
  sys: SvaSystem,
  opts: { readonly dev: SvaDev; readonly mm: Mm },
): SvaHandle | ErrnoValue {
  const { dev, mm } = opts;
  if (mm.exited) throw new TypeError(`svaBindDevice: process ${mm.name} has exited`);
  const iommuMm = iommuAllocMmData(sys, mm, dev);
  if (isErr(iommuMm)) return iommuMm;
  const bound = handleFind(sys, dev, iommuMm.pasid);
  if (bound) {
    bound.users++;
    return bound;
  }
  if (svaDevPasidDomain(dev, iommuMm.pasid) !== undefined) return errno("EBUSY");
  const domain = bindDomain(sys, dev, mm);
  if (isErr(domain)) return domain;
  const handle: SvaHandle = { dev, domain, users: 1 };
  sys.handles.push(handle);
  trace(sys.log, "iommu_sva_bind", {
    dev: dev.name,
    mm: mm.name,
    pasid: iommuMm.pasid,
    domain: domain.name,
    domain_users: domain.users,
  });
  return handle;
}

/**
 * Follows iommu_sva_unbind_device(): drops one reference; the last one detaches the PASID,
 * frees the domain when it has no other bond (taking the process off the kernel-VA list
 * when that was its last domain, and clearing "present" when no process is left).
 */
export function svaUnbindDevice(sys: SvaSystem, handle: SvaHandle): Ret {
  if (handle.users <= 0) throw new TypeError("svaUnbindDevice: the bond was already dropped");
  if (--handle.users > 0) return 0;
  const { dev, domain } = handle;
  const mm = domain.mm;
  const iommuMm = mm.iommuMm!;
  svaDetachDevPasid(sys, { dev, pasid: iommuMm.pasid });
  sys.handles.splice(sys.handles.indexOf(handle), 1);
  if (--domain.users === 0) {
    iommuMm.svaDomains.splice(iommuMm.svaDomains.indexOf(domain), 1);
    if (iommuMm.svaDomains.length === 0) {
      sys.mms.splice(sys.mms.indexOf(mm), 1);
      if (sys.mms.length === 0) setPresent(sys, false);
    }
    svaDomainFree(sys, domain);
  }
  trace(sys.log, "iommu_sva_unbind", { dev: dev.name, mm: mm.name, domain_users: domain.users });
  // The domain held the mm (mmgrab); an exited process is dropped with its last domain.
  if (mm.exited && iommuMm.svaDomains.length === 0) mmPasidDrop(sys, mm);
  return 0;
}

/** Follows mm_pasid_drop(): the dropped process gives its PASID back. */
export function mmPasidDrop(sys: SvaSystem, mm: Mm): void {
  if (!mm.iommuMm) return;
  sys.pasids.delete(mm.iommuMm.pasid);
  mm.iommuMm = null;
}

/** The bond of `dev` to `mm`, if any. */
export function svaHandleOf(sys: SvaSystem, opts: { readonly dev: string; readonly mm: Mm }) {
  return sys.handles.find((h) => h.dev.name === opts.dev && h.domain.mm === opts.mm);
}
