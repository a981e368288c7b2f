/**
 * Updating a live STE or CD. The SMMU reads an entry with 64-bit single-copy atomicity only,
 * so a change of several qwords must be sequenced so that every intermediate state the
 * hardware may fetch is either the old or the new configuration in the bits it uses. The
 * writer computes which qwords change in used bits: none (plain update), one (hitless: stage
 * the unused bits, flip the critical qword, clean up), or more (break: V=0 first, then the
 * rest, then qword 0). Every step that changed memory is followed by a sync (a CFGI + SYNC).
 * Models arm_smmu_entry_qword_diff(), entry_set() and arm_smmu_write_entry() of
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline 6a01b9f0a5ec.
 * @module
 */

import { NUM_ENTRY_QWORDS } from "./ste.ts";

/** `struct arm_smmu_entry_writer_ops`: how to read an entry kind and how to sync it. */
export interface EntryWriterOps {
  /** The bits the hardware reads in an entry's configuration. */
  getUsed(entry: readonly bigint[], used: bigint[]): void;
  /** Used bits that may change in any order (STEs only). */
  getUpdateSafe?(cur: readonly bigint[], target: readonly bigint[]): bigint[];
  /** Make the hardware drop its cached copy (the CFGI + CMD_SYNC of the entry). */
  sync(): void;
}

/** How an update went. */
export type EntryUpdate = "unchanged" | "plain" | "hitless" | "breaking";

/** What {@link writeEntry} did. */
export interface EntryWriteResult {
  /** Which of the three sequences ran; `unchanged` when nothing was written. */
  readonly update: EntryUpdate;
  /** Steps that changed memory, each followed by a sync. */
  readonly syncs: number;
}

/**
 * Follows arm_smmu_entry_qword_diff(): fills `unusedUpdate` with the entry where every bit
 * the current configuration ignores already holds its target value, and returns a mask of
 * the qwords whose used bits still have to change.
 */
function entryQwordDiff(
  ops: EntryWriterOps,
  entry: readonly bigint[],
  target: readonly bigint[],
  unusedUpdate: bigint[],
): number {
  const curUsed = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  const targetUsed = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  ops.getUsed(entry, curUsed);
  ops.getUsed(target, targetUsed);
  const safe = ops.getUpdateSafe?.(entry, target) ?? new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  let diff = 0;
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) {
    // A safe bit only counts as such when both configurations use it.
    safe[i] &= targetUsed[i] & curUsed[i];
    curUsed[i] &= ~safe[i];
    unusedUpdate[i] = (entry[i] & curUsed[i]) | (target[i] & ~curUsed[i]);
    if ((unusedUpdate[i] & targetUsed[i]) !== target[i]) diff |= 1 << i;
  }
  return diff;
}

/** Follows entry_set(): writes qwords `[start, start + len)` and syncs if any changed. */
function entrySet(
  ops: EntryWriterOps,
  entry: bigint[],
  target: readonly bigint[],
  start: number,
  len: number,
): number {
  let changed = false;
  for (let i = start; i < start + len; i++) {
    if (entry[i] !== target[i]) {
      entry[i] = target[i];
      changed = true;
    }
  }
  if (!changed) return 0;
  ops.sync();
  return 1;
}

function popcount8(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/**
 * Follows arm_smmu_write_entry(): turns `entry` into `target` in place, syncing after each
 * step that changed it. (The kernel's leading dma_wmb() publishes the tables the entry points
 * at; the model has no memory ordering to show.)
 */
export function writeEntry(
  ops: EntryWriterOps,
  args: { readonly entry: bigint[]; readonly target: readonly bigint[] },
): EntryWriteResult {
  const { entry, target } = args;
  const unusedUpdate = new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
  const diff = entryQwordDiff(ops, entry, target, unusedUpdate);
  let syncs = 0;
  if (popcount8(diff) === 1) {
    // One critical qword: the rest can be staged while unused, then one 64-bit store
    // switches the configuration, then bits the new configuration ignores are cleaned up.
    const critical = 31 - Math.clz32(diff);
    unusedUpdate[critical] = entry[critical];
    syncs += entrySet(ops, entry, unusedUpdate, 0, NUM_ENTRY_QWORDS);
    syncs += entrySet(ops, entry, target, critical, 1);
    syncs += entrySet(ops, entry, target, 0, NUM_ENTRY_QWORDS);
    return { update: "hitless", syncs };
  }
  if (diff) {
    // Several qwords: invalidate (V=0), fill qwords 1.., then make qword 0 valid again.
    unusedUpdate[0] = 0n;
    syncs += entrySet(ops, entry, unusedUpdate, 0, 1);
    syncs += entrySet(ops, entry, target, 1, NUM_ENTRY_QWORDS - 1);
    syncs += entrySet(ops, entry, target, 0, 1);
    return { update: "breaking", syncs };
  }
  // No used bit changes; safe or unused bits may still differ.
  syncs += entrySet(ops, entry, target, 0, NUM_ENTRY_QWORDS);
  return { update: syncs ? "plain" : "unchanged", syncs };
}
