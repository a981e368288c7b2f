/**
 * The SVA state of one system: the iommu core's globals (the PASID allocator, the list of
 * bound processes and the flag saying SVA is in use), the bonds, the queue of kernel
 * page-table pages waiting for their IOMMU flush, the system workqueue, and which drivers
 * the SVA domains come from. Running the deferred work is the step a spec triggers
 * (`run_deferred`): nothing the mm defers reaches an IOMMU before it.
 *
 * Variants (`iommu-sva` family) say how kernel-VA invalidation works:
 * - `mainline`: as merged (e37d5a2d60a3, v6.18): x86 frees kernel page-table pages through
 *   one static work item that flushes every bound process's SVA domains for
 *   [PAGE_OFFSET, TLB_FLUSH_ALL] before freeing the pages.
 * - `v2-work`: NOT merged. Baolu Lu's sketch in seed 003: the hook sits in
 *   flush_tlb_kernel_range() and flushes the caller's range, right away in process
 *   context, or from a work item allocated per call in atomic context (the page is freed by
 *   then).
 * - `did-flush`: NOT merged. The merged deferral, but each VT-d unit drops every entry
 *   tagged with the SVA domain id (DID 1) in one request, the idea Baolu Lu raised in seed
 *   003 and Jason Gunthorpe doubted (the hardware has no notion of an SVA PASID).
 *
 * Models the globals of drivers/iommu/iommu-sva.c (`iommu_sva_lock` is implicit: steps run
 * one at a time) and `iommu_global_pasid_ida` of drivers/iommu/iommu.c at v6.18.
 * @module
 */

import { hang, trace } from "../events.ts";
import type { EventLog } from "../events.ts";
import type { ArmSmmuDriver } from "../drivers/arm-smmu-v3/driver.ts";
import type { VtdVariant } from "../drivers/intel/variant.ts";
import type { SvaHandle } from "./bind.ts";
import { invalidateKvaFunc } from "./kva.ts";
import type { Mm } from "./mm.ts";
import { kernelPgtableWorkFunc } from "./pgtable_free.ts";
import type { Work } from "./workqueue.ts";

/** Kernel-VA invalidation designs. */
export const SVA_VARIANTS = ["mainline", "v2-work", "did-flush"] as const;
/** One design; `mainline` is the merged one. */
export type SvaVariant = typeof SVA_VARIANTS[number];

/** CPU architectures: only x86 mixes kernel mappings into every process page table. */
export type Arch = "x86_64" | "arm64";

/** `PAGE_OFFSET` of x86-64 with 4-level paging and no KASLR (the direct map's start). */
export const X86_64_PAGE_OFFSET = 0xffff888000000000n;
/** `PAGE_OFFSET` of arm64 with 48-bit VAs. */
export const ARM64_PAGE_OFFSET = 0xffff000000000000n;

/** Everything SVA keeps per system. Plain data. */
export interface SvaSystem {
  /** Commands, WARNs and traces. */
  readonly log: EventLog;
  /** Kernel-VA invalidation design. */
  readonly variant: SvaVariant;
  /** CPU architecture. */
  readonly arch: Arch;
  /** `PAGE_OFFSET`: where the merged worker's flush starts. */
  readonly pageOffset: bigint;
  /** The arm-smmu-v3 driver, for SMMUv3 devices. */
  readonly smmu: ArmSmmuDriver | null;
  /** VT-d code version of the SVA domains it allocates. */
  readonly vtdVariant?: VtdVariant;
  /** `iommu_sva_present`: some process is bound (checked by the kernel-VA flush). */
  present: boolean;
  /** `iommu_sva_mms`: bound processes, newest first. */
  readonly mms: Mm[];
  /** `iommu_global_pasid_ida`: PASIDs in use. */
  readonly pasids: Set<number>;
  /** Bonds (`struct iommu_sva`), in bind order. */
  readonly handles: SvaHandle[];
  /** `kernel_pgtable_work.list`: kernel page-table pages awaiting the flush, newest first. */
  readonly kernelPgtableList: number[];
  /** The system workqueue's pending items, oldest first. */
  readonly workqueue: Work[];
  /** Next id of a kernel page-table page. */
  nextPtPage: number;
  /** Kernel page-table pages actually freed (their memory reusable) so far. */
  freedPtPages: number;
}

/** Options for {@link svaSystemCreate}. */
export interface SvaSystemOptions {
  /** Default `"mainline"`. */
  readonly variant?: SvaVariant;
  /** Default `"x86_64"`, the architecture that defers kernel page-table frees. */
  readonly arch?: Arch;
  /** Default the architecture's (4-level, no KASLR on x86). */
  readonly pageOffset?: bigint;
  /** Needed to bind SMMUv3 masters. */
  readonly smmu?: ArmSmmuDriver;
  /** VT-d version (default the intel model's). */
  readonly vtdVariant?: VtdVariant;
}

/** A system with nothing bound and nothing deferred. */
export function svaSystemCreate(log: EventLog, opts: SvaSystemOptions = {}): SvaSystem {
  const arch = opts.arch ?? "x86_64";
  return {
    log,
    variant: opts.variant ?? "mainline",
    arch,
    pageOffset: opts.pageOffset ?? (arch === "x86_64" ? X86_64_PAGE_OFFSET : ARM64_PAGE_OFFSET),
    smmu: opts.smmu ?? null,
    vtdVariant: opts.vtdVariant,
    present: false,
    mms: [],
    pasids: new Set(),
    handles: [],
    kernelPgtableList: [],
    workqueue: [],
    nextPtPage: 1,
    freedPtPages: 0,
  };
}

/**
 * Runs the system workqueue until it is empty, oldest item first, as the kworker would once
 * it gets the CPU (flush_scheduled_work()). Returns how many items ran.
 */
export function flushScheduledWork(sys: SvaSystem): number {
  let n = 0;
  while (sys.workqueue.length > 0) {
    if (n >= sys.log.budget) {
      hang(sys.log, "flush_scheduled_work", n);
      break;
    }
    const work = sys.workqueue.shift();
    if (!work) break;
    trace(sys.log, "work_run", { work: work.kind });
    if (work.kind === "kernel_pgtable") kernelPgtableWorkFunc(sys);
    else invalidateKvaFunc(sys, { start: work.start, end: work.end });
    n++;
  }
  return n;
}
