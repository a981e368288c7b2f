/**
 * Invalidating a domain: one walk of its invalidation array turns an address range into the
 * commands of every entry, in array order. TLBIs are ranged (or one whole-ASID/VMID command
 * when the range is too big), a nesting parent's S1 clear is one NH_ALL (skipped when the
 * whole VMID goes anyway), ATC entries send one ATC_INV each. Commands gather in one batch per
 * SMMU and are submitted with a SYNC where the next entry needs the previous ones complete:
 * on a change of SMMU, before the S1 clear, and before the first ATC invalidation. So each
 * SMMU gets at most three SYNC groups (TLBI, S1 clear, ATC), in array order.
 * Models arm_smmu_domain_inv_range(), __arm_smmu_domain_inv_range(),
 * arm_smmu_inv_to_cmdq_batch(), arm_smmu_invs_end_batch() and their callers (iotlb_sync,
 * tlb_inv_walk, tlb_inv_context / flush_iotlb_all, the SVA mmu notifier's
 * arch_invalidate_secondary_tlbs and release ops) of arm-smmu-v3.c and arm-smmu-v3-sva.c at
 * mainline 6a01b9f0a5ec, with the v9 walk as the `"v9"` variant. The walk itself is exported
 * for the other caller of the same code, the pKVM hypervisor (lib/tlbi/pkvm.ts).
 * @module
 */

import { u64 } from "../../bits.ts";
import { hang, warn } from "../../events.ts";
import { type Cmd, makeCmd } from "../../hw/smmuv3/cmd.ts";
import {
  type CmdqBatch,
  cmdqBatchAdd,
  cmdqBatchInit,
  cmdqBatchSubmit,
} from "../../hw/smmuv3/cmdq.ts";
import { atcInvToCmd, IOMMU_NO_PASID } from "../../tlbi/atc.ts";
import { invSizeTooBig } from "../../tlbi/nsize.ts";
import { cmdqBatchAddRange, type TlbiRangeCmd } from "../../tlbi/range.ts";
import { makeSvaCd, svaCpuPageSize } from "./cd.ts";
import { getCdPtr, writeCdEntry } from "./cd_table.ts";
import type { SmmuDomain } from "./domain.ts";
import { type ArmSmmuDriver, armSmmuInstance, drvInjects } from "./driver.ts";
import { type Inv, invIsAts, type Invs, invsIterNext } from "./invs.ts";

/**
 * What the walk needs from its caller: the variant being modelled and where commands and
 * WARNs go. The kernel driver passes its {@link ArmSmmuDriver}; the pKVM hypervisor, which
 * compiles the same walk, passes its own.
 */
export type InvWalkCtx = Pick<ArmSmmuDriver, "variant" | "log">;

/** A range to invalidate, as arm_smmu_domain_inv_range() takes it. */
export interface InvRange {
  /** First address. */
  readonly iova: bigint;
  /** Bytes; 0 or SIZE_MAX mean everything. */
  readonly size: bigint;
  /** Bytes per TLB entry changed; an `unsigned int` on this path, so truncated to 32 bits. */
  readonly granule: bigint;
  /** Only leaf entries changed (no table was freed). */
  readonly leaf: boolean;
}

// The TLBI commands of an ASID/VMID entry, with the fields the kernel fills for it.
function tlbiRangeTemplate(inv: Inv, leaf: boolean): TlbiRangeCmd {
  switch (inv.sizeOpcode) {
    case "TLBI_EL2_VA":
      return makeCmd("TLBI_EL2_VA", { asid: inv.id, leaf });
    case "TLBI_S2_IPA":
      return makeCmd("TLBI_S2_IPA", { vmid: inv.id, leaf });
    default:
      return makeCmd("TLBI_NH_VA", { asid: inv.id, leaf });
  }
}

function tlbiNsize(inv: Inv): Cmd {
  switch (inv.nsizeOpcode) {
    case "TLBI_EL2_ASID":
      return makeCmd("TLBI_EL2_ASID", { asid: inv.id });
    case "TLBI_S12_VMALL":
      return makeCmd("TLBI_S12_VMALL", { vmid: inv.id });
    default:
      return makeCmd("TLBI_NH_ASID", { asid: inv.id });
  }
}

/**
 * Follows arm_smmu_inv_to_cmdq_batch(): for an ASID or VMID entry, the whole-tag command
 * when the range is too big for range commands, else the range commands.
 */
function invToCmdqBatch(batch: CmdqBatch, inv: Inv, r: InvRange): void {
  if (invSizeTooBig(inv.smmu, r.size, r.granule)) {
    cmdqBatchAdd(batch, tlbiNsize(inv));
    return;
  }
  cmdqBatchAddRange(batch, {
    cmd: tlbiRangeTemplate(inv, r.leaf),
    iova: r.iova,
    size: r.size,
    granule: r.granule,
    pgsize: inv.pgsize,
  });
}

/**
 * The per-entry step of __arm_smmu_domain_inv_range(). Returns false where v9 `continue`d
 * without moving to the next entry. ATC invalidations have no leaf form: a freed table may
 * have taken a whole range with it.
 */
function invToCmds(drv: InvWalkCtx, batch: CmdqBatch, inv: Inv, r: InvRange): boolean {
  const v9 = drv.variant === "v9";
  switch (inv.type) {
    case "S1_ASID":
    case "S2_VMID":
      invToCmdqBatch(batch, inv, r);
      return true;
    case "S2_VMID_S1_CLEAR":
      // The S12_VMALL sent for a too-big range already dropped the VMID's S1 entries.
      if (invSizeTooBig(inv.smmu, r.size, r.granule)) return !v9;
      cmdqBatchAdd(batch, makeCmd("TLBI_NH_ALL", { vmid: inv.id }));
      return true;
    case "ATS":
      cmdqBatchAdd(batch, atcInvToCmd({ sid: inv.id, ssid: inv.ssid, iova: r.iova, size: r.size }));
      return true;
    case "ATS_FULL":
      cmdqBatchAdd(batch, atcInvToCmd({ sid: inv.id, ssid: IOMMU_NO_PASID, iova: 0n, size: 0n }));
      return true;
    default:
      warn(drv.log, "__arm_smmu_domain_inv_range", "WARN_ON_ONCE: unknown invalidation type");
      return !v9;
  }
}

/**
 * Follows arm_smmu_invs_end_batch(): the batch must be submitted (and synced) before `next`
 * when `next` uses another SMMU's queue, is the S1 clear that must follow the completed S2
 * TLBIs, or starts the ATC invalidations that must follow the completed TLBIs.
 */
export function invsEndBatch(cur: Inv, next: Inv): boolean {
  if (cur.smmu !== next.smmu) return true;
  if (cur.type !== "S2_VMID_S1_CLEAR" && next.type === "S2_VMID_S1_CLEAR") return true;
  return !invIsAts(cur) && invIsAts(next);
}

/**
 * Follows __arm_smmu_domain_inv_range(): the walk over a snapshot of the array length,
 * skipping trash. Every loop iteration counts against the World's budget, so the v9 walk,
 * which never advances past a skipped S1 clear, is stopped and reported as hung. The range is
 * taken as given (callers truncate the granule); exported for the pKVM caller.
 */
export function domainInvRangeWalk(drv: InvWalkCtx, invs: Invs, r: InvRange): void {
  const end = invs.numInvs;
  let cur = invsIterNext(invs, 0);
  let batch: CmdqBatch | null = null;
  let iterations = 0;
  while (cur < end) {
    if (++iterations > drv.log.budget) {
      hang(drv.log, "__arm_smmu_domain_inv_range", iterations - 1);
      return;
    }
    const inv = invs.inv[cur];
    if (!batch || batch.num === 0) batch = cmdqBatchInit(inv.smmu);
    if (!invToCmds(drv, batch, inv, r)) continue;
    const next = invsIterNext(invs, cur + 1);
    if (batch.num && (next >= end || invsEndBatch(inv, invs.inv[next]))) {
      cmdqBatchSubmit(batch);
      batch.num = 0;
    }
    cur = next;
  }
}

/**
 * Follows arm_smmu_domain_inv_range(): invalidates `[iova, iova + size)` everywhere `domain`
 * is attached, from the array published at the time of the call. (The kernel's barrier
 * pairs with the STE writes so a racing attach is covered either by this walk or by the
 * hardware seeing the new page tables; the ATS read lock keeps a detach from disabling ATS
 * under an in-flight ATC invalidation. Neither shows in a sequential model.)
 */
export function domainInvRange(drv: ArmSmmuDriver, domain: SmmuDomain, r: InvRange): void {
  domainInvRangeWalk(drv, domain.invs, { ...r, granule: BigInt.asUintN(32, r.granule) });
}

/** Follows arm_smmu_domain_inv(): everything (size 0 always takes the whole-tag path). */
export function domainInv(drv: ArmSmmuDriver, domain: SmmuDomain): void {
  domainInvRange(drv, domain, { iova: 0n, size: 0n, granule: 0n, leaf: false });
}

/**
 * Follows arm_smmu_iotlb_sync(): the gathered leaf range (`end` is the last byte), if
 * anything was gathered. Takes the `start`/`end`/`pgsize` of an `iommu_iotlb_gather`.
 */
export function iotlbSync(
  drv: ArmSmmuDriver,
  domain: SmmuDomain,
  gather: { readonly start: bigint; readonly end: bigint; readonly pgsize: bigint },
): void {
  if (gather.pgsize === 0n) return;
  const size = u64(gather.end - gather.start + 1n);
  const r = { iova: gather.start, size, granule: gather.pgsize, leaf: true };
  if (drvInjects(drv, "iotlb_sync_no_tlbi")) {
    // Injected fault (not kernel behaviour): only the array's ATS entries are walked.
    const inv = domain.invs.inv.slice(0, domain.invs.numInvs).filter((e) => e.users && invIsAts(e));
    const invs = { ...domain.invs, inv, numInvs: inv.length, numTrashes: 0 };
    domainInvRangeWalk(drv, invs, { ...r, granule: BigInt.asUintN(32, r.granule) });
    return;
  }
  domainInvRange(drv, domain, r);
}

/** Follows arm_smmu_tlb_inv_walk(): io-pgtable freed tables under the range (non-leaf). */
export function tlbInvWalk(
  drv: ArmSmmuDriver,
  domain: SmmuDomain,
  r: { readonly iova: bigint; readonly size: bigint; readonly granule: bigint },
): void {
  domainInvRange(drv, domain, { ...r, leaf: false });
}

/** Follows arm_smmu_flush_iotlb_all() / arm_smmu_tlb_inv_context(): everything, if finalised. */
export function flushIotlbAll(drv: ArmSmmuDriver, domain: SmmuDomain): void {
  if (domain.smmu) domainInv(drv, domain);
}

/**
 * Follows arm_smmu_mm_arch_invalidate_secondary_tlbs(): the CPU changed `[start, end)` of the
 * process; mm ranges end one past the last byte. Non-leaf with PAGE_SIZE granule, as the
 * notifier cannot know which levels changed. A whole-mm flush (`end` = ULONG_MAX, start 0)
 * has size SIZE_MAX, which always takes the whole-ASID path.
 */
export function mmArchInvalidateSecondaryTlbs(
  drv: ArmSmmuDriver,
  domain: SmmuDomain,
  r: { readonly start: bigint; readonly end: bigint },
): void {
  domainInvRange(drv, domain, {
    iova: r.start,
    size: u64(r.end - r.start),
    granule: svaCpuPageSize(domain.cpu),
    leaf: false,
  });
}

/**
 * Follows arm_smmu_mm_release(): the process is exiting while devices may still DMA. Each
 * attachment's CD stays valid, so the SMMU reports no C_BAD_CD, but gets EPD0, so every
 * access faults; then the whole domain is invalidated, since what the TLBs and ATCs cached
 * before the CD changed would otherwise still translate. The domain keeps its mm pointer,
 * as the kernel's does.
 */
export function mmRelease(drv: ArmSmmuDriver, domain: SmmuDomain): void {
  for (const md of domain.devices) {
    const { master, ssid } = md;
    const cdptr = getCdPtr(master, ssid);
    if (!cdptr) {
      warn(drv.log, "arm_smmu_mm_release", "WARN_ON(!cdptr)");
      continue;
    }
    const target = makeSvaCd({
      asid: domain.asid,
      mm: null,
      cpu: domain.cpu,
      stallEnabled: master.stallEnabled,
      stallForce: armSmmuInstance(drv, master.smmu).stallForce,
    });
    writeCdEntry(master, cdptr, { ssid, target });
  }
  domainInv(drv, domain);
}
