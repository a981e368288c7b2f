/**
 * The iommu core's map and unmap: argument checks, cutting the range into page-size runs
 * for io-pgtable drivers (iommupt domains take the whole range), unrolling a failed map,
 * and the gather/sync protocol around unmap (`iommu_unmap` syncs, `iommu_unmap_fast`
 * leaves it to the caller).
 *
 * Models iommu_map(), iommu_map_nosync(), __iommu_map_domain_pgtbl(), iommu_unmap(),
 * iommu_unmap_fast(), __iommu_unmap(), __iommu_unmap_domain_pgtbl(), iommu_iova_to_phys()
 * and iommu_flush_iotlb_all() in drivers/iommu/iommu.c at mainline as of May 2026 (after
 * "iommu: Handle unmap error when iommu_debug is enabled", 0735c54804c7).
 * @module
 */

import type { Ret } from "../errno.ts";
import { iommuIotlbSync, type IotlbGather, iotlbGatherInit } from "./gather.ts";
import {
  armLpaeMapPages,
  armLpaeUnmapPages,
  type MapPagesResult,
  type UnmapPagesResult,
} from "./io_pgtable_arm.ts";
import { iommuPtMapRange, iommuPtUnmapRange } from "./iommu_pt.ts";
import { iommuPgsize } from "./pgsize.ts";
import { IOMMU_READ, IOMMU_WRITE, type IoPgtable, minPagesz } from "./pgtable.ts";
import type { PtStep } from "./steps.ts";
import { ioPgtableIovaToPhys } from "./walk.ts";

/** Arguments of {@link iommuMap}. */
export interface IommuMapOptions {
  /** First input address. */
  readonly iova: bigint;
  /** First output address. */
  readonly paddr: bigint;
  /** Bytes to map. */
  readonly size: bigint;
  /** `IOMMU_READ | IOMMU_WRITE` by default. */
  readonly prot?: number;
  /** Sink to append the steps to (a new array by default). */
  readonly steps?: PtStep[];
}

/** Arguments of {@link iommuUnmap} and {@link iommuUnmapFast}. */
export interface IommuUnmapOptions {
  /** First input address. */
  readonly iova: bigint;
  /** Bytes to unmap. */
  readonly size: bigint;
  /** Sink to append the steps to (a new array by default). */
  readonly steps?: PtStep[];
}

/**
 * Follows iommu_map(): maps without syncing, then lets the driver see the new mapping
 * (`iotlb_sync_map`, which VT-d needs in caching mode and SMMUv3 does not implement).
 */
export function iommuMap(pt: IoPgtable, opts: IommuMapOptions): MapPagesResult {
  const r = iommuMapNosync(pt, opts);
  if (r.ret === 0) r.steps.push({ op: "iotlb_sync_map", iova: opts.iova, size: opts.size });
  return r;
}

/**
 * Follows iommu_map_nosync(): on failure, whatever was mapped is unmapped again with
 * iommu_unmap() (whose steps, including its sync, are part of this map's steps).
 */
export function iommuMapNosync(pt: IoPgtable, opts: IommuMapOptions): MapPagesResult {
  const steps = opts.steps ?? [];
  const prot = opts.prot ?? IOMMU_READ | IOMMU_WRITE;
  const r = pt.impl === "iommupt"
    ? iommuPtMapRange(pt, { iova: opts.iova, paddr: opts.paddr, len: opts.size, prot, steps })
    : mapDomainPgtbl(pt, { ...opts, prot, steps });
  if (r.ret !== 0) iommuUnmap(pt, { iova: opts.iova, size: r.mapped, steps });
  return { ret: r.ret, mapped: r.mapped, steps };
}

// Follows __iommu_map_domain_pgtbl(): everything must be aligned to the smallest page; the
// range then goes to the driver one page-size run at a time.
function mapDomainPgtbl(
  pt: IoPgtable,
  o: { iova: bigint; paddr: bigint; size: bigint; prot: number; steps: PtStep[] },
): { ret: Ret; mapped: bigint } {
  if ((o.iova | o.paddr | o.size) & (minPagesz(pt) - 1n)) {
    return { ret: { errno: "EINVAL" }, mapped: 0n };
  }
  let mapped = 0n;
  while (mapped < o.size) {
    const iova = o.iova + mapped;
    const paddr = o.paddr + mapped;
    const { pgsize, count } = iommuPgsize(pt.pgsizeBitmap, { iova, paddr, size: o.size - mapped });
    const r = armLpaeMapPages(pt, {
      iova,
      paddr,
      pgsize,
      pgcount: count,
      prot: o.prot,
      steps: o.steps,
    });
    mapped += r.mapped;
    if (r.ret !== 0) return { ret: r.ret, mapped };
  }
  return { ret: 0, mapped };
}

/**
 * Follows iommu_unmap(): unmaps with a fresh gather, then syncs it, so every invalidation
 * is done (and freed tables released) when it returns.
 */
export function iommuUnmap(pt: IoPgtable, opts: IommuUnmapOptions): UnmapPagesResult {
  const steps = opts.steps ?? [];
  const gather = iotlbGatherInit();
  const { unmapped } = iommuUnmapFast(pt, gather, { ...opts, steps });
  iommuIotlbSync(pt, gather, { steps });
  return { unmapped, steps };
}

/**
 * Follows iommu_unmap_fast(): unmaps into the caller's gather, which the caller syncs (or,
 * queued, leaves to a flush queue). The gather may be synced midway by
 * iommu_iotlb_gather_add_page() when pages are disjoint or change size.
 */
export function iommuUnmapFast(
  pt: IoPgtable,
  gather: IotlbGather,
  opts: IommuUnmapOptions,
): UnmapPagesResult {
  const steps = opts.steps ?? [];
  const unmapped = pt.impl === "iommupt"
    ? iommuPtUnmapRange(pt, gather, { iova: opts.iova, len: opts.size, steps }).unmapped
    : unmapDomainPgtbl(pt, gather, { iova: opts.iova, size: opts.size, steps });
  return { unmapped, steps };
}

// Follows __iommu_unmap_domain_pgtbl(): unaligned requests unmap nothing; otherwise
// page-size runs until `size` bytes (or more) are gone or the driver unmaps nothing.
function unmapDomainPgtbl(
  pt: IoPgtable,
  gather: IotlbGather,
  o: { iova: bigint; size: bigint; steps: PtStep[] },
): bigint {
  if ((o.iova | o.size) & (minPagesz(pt) - 1n)) return 0n;
  let unmapped = 0n;
  while (unmapped < o.size) {
    const iova = o.iova + unmapped;
    const { pgsize, count } = iommuPgsize(pt.pgsizeBitmap, {
      iova,
      paddr: iova,
      size: o.size - unmapped,
    });
    const r = armLpaeUnmapPages(pt, gather, { iova, pgsize, pgcount: count, steps: o.steps });
    if (r.unmapped === 0n) break;
    unmapped += r.unmapped;
  }
  return unmapped;
}

/** Follows iommu_flush_iotlb_all(): one `flush_iotlb_all` call into the driver. */
export function iommuFlushIotlbAll(opts: { readonly steps?: PtStep[] } = {}): PtStep[] {
  const steps = opts.steps ?? [];
  steps.push({ op: "flush_all" });
  return steps;
}

/** Follows iommu_iova_to_phys(): the output address, or 0 when nothing is mapped. */
export function iommuIovaToPhys(pt: IoPgtable, iova: bigint): bigint {
  return ioPgtableIovaToPhys(pt, iova);
}
