/**
 * The single-shot invalidation helpers: each builds one descriptor and submits it with
 * its own wait (`qi_submit_sync(iommu, &desc, 1, 0)`). The PASID-entry, context-entry
 * and v6.10 cache-tag paths use these; the batched cache-tag paths use qi_batch.ts.
 * Units without queued invalidation flush the IOTLB and context cache through registers:
 * the model records those as `__iommu_flush_iotlb` / `__iommu_flush_context` trace events
 * (the kernel has no tracepoint there), and a write-buffer flush on units that need one
 * as an `iommu_flush_write_buffer` trace event.
 * Models qi_flush_*() and quirk_extra_dev_tlb_flush() of drivers/iommu/intel/dmar.c and
 * iommu.c, and `iommu->flush.flush_{context,iotlb}` (v6.10 … v7.1 queue).
 * @module
 */

import { trace } from "../../events.ts";
import {
  type Desc,
  QI_CC_GRAN_DEVICE,
  QI_IOTLB_GRAN_DSI,
  QI_PC_PASID_SEL,
} from "../../hw/vtd/desc.ts";
import type { VtdIommu } from "../../hw/vtd/iommu.ts";
import { qiSubmitSync } from "../../hw/vtd/qi.ts";
import type { DeviceDomainInfo } from "./device.ts";
import { MAX_AGAW_PFN_WIDTH } from "./psi_aligned_address.ts";
import { type DevIotlbArgs, type IotlbArgs, qiDescIotlb } from "./qi_desc.ts";
import {
  qiBatchAddDevIotlb,
  qiBatchAddPasidDevIotlb,
  qiBatchAddPiotlbAll,
  qiBatchAddPiotlbPages,
} from "./qi_batch.ts";

/** `IOMMU_NO_PASID`: RID traffic. */
export const IOMMU_NO_PASID = 0;

function submitOne(iommu: VtdIommu, desc: Desc): void {
  qiSubmitSync(iommu, [desc]);
}

/** Arguments of a context-cache invalidation. */
export interface ContextFlushArgs {
  /** Domain id (ignored by hardware in scalable mode). */
  readonly did: number;
  /** Requester id. */
  readonly sid: number;
  /** Function mask (`DMA_CCMD_MASK_*`). */
  readonly fm: number;
  /** 1 global, 2 domain, 3 device. */
  readonly gran: 1 | 2 | 3;
}

/** Follows `iommu->flush.flush_context`: qi_flush_context(), or the CCMD register. */
export function flushContext(iommu: VtdIommu, a: ContextFlushArgs): void {
  if (!iommu.caps.qis) {
    trace(iommu.log, "__iommu_flush_context", { iommu: iommu.name, ...a });
    return;
  }
  submitOne(iommu, { op: "CC_INV", gran: a.gran, did: a.did, sid: a.sid, fm: a.fm });
}

/** Device-selective context-cache invalidation of one requester id. */
export function flushContextDevice(iommu: VtdIommu, a: { did: number; sid: number }): void {
  flushContext(iommu, { did: a.did, sid: a.sid, fm: 0, gran: QI_CC_GRAN_DEVICE });
}

/** Follows __iommu_flush_iotlb(): the register-based IOTLB flush (no queue entry). */
export function iommuFlushIotlbReg(iommu: VtdIommu, a: IotlbArgs): void {
  trace(iommu.log, "__iommu_flush_iotlb", {
    iommu: iommu.name,
    did: a.did,
    addr: a.addr,
    size_order: a.sizeOrder,
    gran: a.gran,
  });
}

/** Follows `iommu->flush.flush_iotlb`: qi_flush_iotlb(), or the IOTLB registers. */
export function flushIotlb(iommu: VtdIommu, a: IotlbArgs): void {
  if (!iommu.caps.qis) return iommuFlushIotlbReg(iommu, a);
  submitOne(iommu, qiDescIotlb(iommu, a));
}

/** A domain-selective IOTLB flush of `did` (as the teardown and context paths send). */
export function flushIotlbDsi(iommu: VtdIommu, did: number): void {
  flushIotlb(iommu, { did, addr: 0n, sizeOrder: 0, gran: QI_IOTLB_GRAN_DSI, honourIh: false });
}

/**
 * Follows qi_flush_dev_iotlb(): skipped while translation is disabled on the unit (the
 * spec advises against device-TLB invalidations then).
 */
export function qiFlushDevIotlb(iommu: VtdIommu, a: DevIotlbArgs): void {
  qiBatchAddDevIotlb({ iommu, batch: null }, a);
}

/** Follows qi_flush_dev_iotlb_pasid(): as {@link qiFlushDevIotlb}, PASID form. */
export function qiFlushDevIotlbPasid(
  iommu: VtdIommu,
  a: DevIotlbArgs & { readonly pasid: number },
): void {
  qiBatchAddPasidDevIotlb({ iommu, batch: null }, a);
}

/** Follows qi_flush_piotlb_all(): PASID-selective PASID-IOTLB flush. */
export function qiFlushPiotlbAll(iommu: VtdIommu, a: { did: number; pasid: number }): void {
  qiBatchAddPiotlbAll({ iommu, batch: null }, a);
}

/**
 * Follows qi_flush_piotlb() (v6.10 … v6.19): `npages` -1 (`U64_MAX`) flushes the whole
 * PASID; 0 is invalid and WARNs. The same as an unbatched qi_batch_add_piotlb().
 */
export function qiFlushPiotlb(
  iommu: VtdIommu,
  a: { did: number; pasid: number; addr: bigint; npages: bigint; ih: boolean },
): void {
  qiBatchAddPiotlbPages({ iommu, batch: null }, a);
}

/** Follows qi_flush_pasid_cache(); also pasid_cache_invalidation_with_pasid() (`gran` 1). */
export function qiFlushPasidCache(
  iommu: VtdIommu,
  a: { did: number; pasid: number; gran?: number },
): void {
  submitOne(iommu, {
    op: "PC_INV",
    gran: a.gran ?? QI_PC_PASID_SEL,
    did: a.did,
    pasid: a.pasid,
  });
}

/** The device-TLB descriptor arguments of `dev` for a block (the whole TLB by default). */
export function devIotlbArgs(
  dev: DeviceDomainInfo,
  addr = 0n,
  mask = MAX_AGAW_PFN_WIDTH,
): DevIotlbArgs {
  return { sid: dev.sid, pfsid: dev.pfsid, qdep: dev.atsQdep, addr, mask };
}

/**
 * Follows quirk_extra_dev_tlb_flush(): endpoints that may complete an ATS invalidation
 * before earlier posted writes land get every device-TLB invalidation a second time.
 */
export function quirkExtraDevTlbFlush(
  dev: DeviceDomainInfo,
  a: { addr: bigint; mask: number; pasid: number; qdep: number },
): void {
  if (!dev.dtlbExtraInval) return;
  const args = { ...devIotlbArgs(dev, a.addr, a.mask), qdep: a.qdep };
  if (a.pasid === IOMMU_NO_PASID) qiFlushDevIotlb(dev.iommu, args);
  else qiFlushDevIotlbPasid(dev.iommu, { ...args, pasid: a.pasid });
}

/**
 * Follows iommu_flush_write_buffer(): a register operation, and only on units that
 * require write-buffer flushing (CAP.RWBF).
 */
export function iommuFlushWriteBuffer(iommu: VtdIommu): void {
  if (!iommu.caps.rwbf) return;
  trace(iommu.log, "iommu_flush_write_buffer", { iommu: iommu.name });
}
