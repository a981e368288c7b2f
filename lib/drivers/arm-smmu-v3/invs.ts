/**
 * The per-domain invalidation array: a sorted list of "what to invalidate" entries (an ASID or
 * VMID on one SMMU, the ATC of one StreamID) with a user count each, rebuilt on attach by a
 * merge into a new array and shrunk on detach in place. Entries whose count reaches zero stay
 * behind as trash until the next merge or purge, so a detach never has to allocate.
 * Models `struct arm_smmu_inv(s)`, arm_smmu_inv_cmp() and arm_smmu_invs_{alloc,merge,unref,
 * purge}() of drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c at mainline 6a01b9f0a5ec, with the
 * v9 series (2025-12-19) as the `"v9"` variant.
 * @module
 */

import { warn } from "../../events.ts";
import type { EventLog } from "../../events.ts";
import type { SmmuDevice } from "../../hw/smmuv3/smmu.ts";
import { errno, type ErrnoValue } from "../../errno.ts";

/**
 * `enum arm_smmu_inv_type` in kernel order. The order is behaviour: it sorts the array, and
 * since readers walk the array in order, every TLBI of an SMMU is issued before its ATC
 * invalidations.
 */
export const INV_TYPES = ["S1_ASID", "S2_VMID", "S2_VMID_S1_CLEAR", "ATS", "ATS_FULL"] as const;
/** One invalidation type. */
export type InvType = typeof INV_TYPES[number];

/** Opcodes an entry uses for a ranged invalidation. */
export type InvSizeOpcode =
  | "TLBI_NH_VA"
  | "TLBI_EL2_VA"
  | "TLBI_S2_IPA"
  | "TLBI_NH_ALL"
  | "ATC_INV";
/** Opcodes an entry uses when the range is too big (or everything). */
export type InvNsizeOpcode =
  | "TLBI_NH_ASID"
  | "TLBI_EL2_ASID"
  | "TLBI_S12_VMALL"
  | "TLBI_NH_ALL"
  | "ATC_INV";

/** `struct arm_smmu_inv`: one thing to invalidate. */
export interface Inv {
  /** The SMMU whose queue receives the commands. */
  readonly smmu: SmmuDevice;
  /** Which command family the entry sends, and its place in the sort order. */
  readonly type: InvType;
  /** Opcode of a ranged invalidation. */
  readonly sizeOpcode: InvSizeOpcode;
  /** Opcode when the range is too big, or for everything. */
  readonly nsizeOpcode: InvNsizeOpcode;
  /** ASID (S1_ASID), VMID (S2 types) or StreamID (ATS types). */
  readonly id: number;
  /** log2 of the smallest page size, for range TLBIs on RIL SMMUs; else 0. */
  readonly pgsize: number;
  /** PASID of the attachment, for ATS types (shares storage with pgsize in the kernel). */
  readonly ssid: number;
  /** Attachments using the entry; 0 marks trash that readers skip. */
  users: number;
}

/** `struct arm_smmu_invs`: a domain's array, or a master's scratch array. */
export interface Invs {
  /** Capacity fixed at allocation. */
  readonly maxInvs: number;
  /** Entries in use, trash included; entries past it are stale. */
  numInvs: number;
  /** Trash entries among the first `numInvs`. */
  numTrashes: number;
  /** Some entry was ATS or ATS_FULL when the array was made; unref never clears it. */
  hasAts: boolean;
  /** The entries. */
  readonly inv: Inv[];
}

/** Array-algorithm variants: mainline, or the v9 series as posted. */
export type InvsVariant = "mainline" | "v9";

/** Options of the array operations. */
export interface InvsOptions {
  /** Where WARNs go. */
  readonly log: EventLog;
  /** Default `"mainline"`. */
  readonly variant?: InvsVariant;
  /** The allocation fails (fault injection), as kmalloc may. */
  readonly nomem?: boolean;
}

const TYPE_ORDER: Readonly<Record<string, number>> = Object.fromEntries(
  INV_TYPES.map((t, i) => [t, i]),
);

/** `arm_smmu_inv_is_ats()`. */
export function invIsAts(inv: Inv): boolean {
  return inv.type === "ATS" || inv.type === "ATS_FULL";
}

/**
 * The opcodes of an entry of `type` on `smmu`, as arm_smmu_master_build_inv() picks them: S1
 * uses the EL2 commands when the SMMU runs in the E2H regime, and a nesting parent's S1 clear
 * is the same whole-VMID NH_ALL for any size.
 */
export function invOpcodes(
  smmu: SmmuDevice,
  type: InvType,
): { sizeOpcode: InvSizeOpcode; nsizeOpcode: InvNsizeOpcode } {
  switch (type) {
    case "S1_ASID":
      return smmu.features.e2h
        ? { sizeOpcode: "TLBI_EL2_VA", nsizeOpcode: "TLBI_EL2_ASID" }
        : { sizeOpcode: "TLBI_NH_VA", nsizeOpcode: "TLBI_NH_ASID" };
    case "S2_VMID":
      return { sizeOpcode: "TLBI_S2_IPA", nsizeOpcode: "TLBI_S12_VMALL" };
    case "S2_VMID_S1_CLEAR":
      return { sizeOpcode: "TLBI_NH_ALL", nsizeOpcode: "TLBI_NH_ALL" };
    case "ATS":
    case "ATS_FULL":
      return { sizeOpcode: "ATC_INV", nsizeOpcode: "ATC_INV" };
  }
}

/** An entry with the opcodes of arm_smmu_master_build_inv() and `users = 0`. */
export function invMake(
  smmu: SmmuDevice,
  opts: {
    readonly type: InvType;
    readonly id: number;
    readonly ssid?: number;
    readonly pgsize?: number;
  },
): Inv {
  const { type, id } = opts;
  const { sizeOpcode, nsizeOpcode } = invOpcodes(smmu, type);
  return {
    smmu,
    type,
    sizeOpcode,
    nsizeOpcode,
    id,
    pgsize: opts.pgsize ?? 0,
    ssid: opts.ssid ?? 0,
    users: 0,
  };
}

// A copy with a fresh user count: arrays never share entry objects, since unref writes the
// count of the array it walks.
function invCopy(e: Inv, users: number): Inv {
  return {
    smmu: e.smmu,
    type: e.type,
    sizeOpcode: e.sizeOpcode,
    nsizeOpcode: e.nsizeOpcode,
    id: e.id,
    pgsize: e.pgsize,
    ssid: e.ssid,
    users,
  };
}

/**
 * Follows arm_smmu_invs_alloc(): an array with room for `maxInvs` entries. The kernel sets
 * `num_invs` to the capacity and every caller then fills or resets it; here it starts at 0.
 */
export function invsAlloc(maxInvs: number): Invs {
  return { maxInvs, numInvs: 0, numTrashes: 0, hasAts: false, inv: [] };
}

function cmpInt(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// The kernel orders instances by pointer value; a sort key (then the name) is our stable order.
function smmuCmp(l: SmmuDevice, r: SmmuDevice): number {
  if (l.sortKey !== r.sortKey) return cmpInt(l.sortKey, r.sortKey);
  return l.name < r.name ? -1 : l.name > r.name ? 1 : 0;
}

/**
 * Follows arm_smmu_inv_cmp(): SMMU, then type, then id, then (ATS types only) the PASID, so
 * two PASID attachments of one StreamID are separate entries.
 */
export function invCmp(l: Inv, r: Inv): number {
  if (l.smmu !== r.smmu) return smmuCmp(l.smmu, r.smmu);
  if (l.type !== r.type) return cmpInt(TYPE_ORDER[l.type], TYPE_ORDER[r.type]);
  if (l.id !== r.id) return cmpInt(l.id, r.id);
  if (invIsAts(l)) return cmpInt(l.ssid, r.ssid);
  return 0;
}

/**
 * Follows the v9 arm_smmu_inv_cmp(). v9: no PASID in the comparison, so two PASID attachments
 * of one StreamID collapse into one ATS entry that keeps the first PASID.
 */
export function invCmpV9(l: Inv, r: Inv): number {
  if (l.smmu !== r.smmu) return smmuCmp(l.smmu, r.smmu);
  if (l.type !== r.type) return cmpInt(TYPE_ORDER[l.type], TYPE_ORDER[r.type]);
  return cmpInt(l.id, r.id);
}

/** The comparator of a variant. */
export function invCmpOf(variant: InvsVariant = "mainline"): (l: Inv, r: Inv) => number {
  return variant === "v9" ? invCmpV9 : invCmp;
}

/** Follows arm_smmu_invs_iter_next(): index of the first live entry at or after `next`. */
export function invsIterNext(invs: Invs, next: number): number {
  while (next < invs.numInvs && invs.inv[next].users === 0) next++;
  return next;
}

/** Position of a paired walk over a base array (left) and a scratch array (right). */
interface InvsCmpCursor {
  /** Index in the left array (its live entries only). */
  i: number;
  /** Index in the right array. */
  j: number;
  /** <0: only in left; 0: in both; >0: only in right. */
  cmp: number;
}

// arm_smmu_invs_iter_next_cmp(): the right array is a scratch whose counts mean nothing, so
// only the left side skips trash. An exhausted side yields to the other.
function iterNextCmp(
  l: Invs,
  nextL: number,
  r: Invs,
  nextR: number,
  c: InvsCmpCursor,
  cmp: (l: Inv, r: Inv) => number,
): void {
  c.i = invsIterNext(l, nextL);
  c.j = nextR;
  if (c.i >= l.numInvs) c.cmp = 1;
  else if (nextR >= r.numInvs) c.cmp = -1;
  else c.cmp = cmp(l.inv[c.i], r.inv[nextR]);
}

// Starts `arm_smmu_invs_for_each_cmp()`; returns the cursor the other steps move.
function invsCmpFirst(
  l: Invs,
  r: Invs,
  cmp: (l: Inv, r: Inv) => number,
): InvsCmpCursor {
  const c = { i: 0, j: 0, cmp: 0 };
  iterNextCmp(l, 0, r, 0, c, cmp);
  return c;
}

// Whether `arm_smmu_invs_for_each_cmp()` has another step.
function invsCmpMore(l: Invs, r: Invs, c: InvsCmpCursor): boolean {
  return c.i < l.numInvs || c.j < r.numInvs;
}

// Advances `arm_smmu_invs_for_each_cmp()`: the side(s) just consumed move on.
function invsCmpNext(
  l: Invs,
  r: Invs,
  c: InvsCmpCursor,
  cmp: (l: Inv, r: Inv) => number,
): void {
  iterNextCmp(l, c.i + (c.cmp <= 0 ? 1 : 0), r, c.j + (c.cmp >= 0 ? 1 : 0), c, cmp);
}

/**
 * Follows `arm_smmu_invs_for_each_cmp()`: walks a base array (trash skipped) and a scratch
 * array side by side, calling `body` with the indexes and the comparison of each step (<0:
 * only in the base, 0: in both, >0: only in the scratch).
 */
export function invsForEachCmp(
  invsL: Invs,
  invsR: Invs,
  opts: {
    readonly variant?: InvsVariant;
    readonly body: (i: number, j: number, cmp: number) => void;
  },
): void {
  const cmp = invCmpOf(opts.variant);
  const c = invsCmpFirst(invsL, invsR, cmp);
  for (; invsCmpMore(invsL, invsR, c); invsCmpNext(invsL, invsR, c, cmp)) {
    opts.body(c.i, c.j, c.cmp);
  }
}

/** The entries in use (`inv[0..numInvs)`), trash included: what a reader walks. */
export function invsEntries(invs: Invs): Inv[] {
  return invs.inv.slice(0, invs.numInvs);
}

/**
 * Follows arm_smmu_invs_merge(): a NEW array holding `invs` plus `toMerge`, both sorted. Shared
 * entries gain a user, new ones start at one, trash of `invs` is dropped. One pass counts,
 * one fills an array of exactly that size; `invs` is left untouched for RCU readers.
 *
 * @returns the new array, or `{ errno: "ENOMEM" }` when the allocation fails.
 */
export function invsMerge(invs: Invs, toMerge: Invs, opts: InvsOptions): Invs | ErrnoValue {
  const cmp = invCmpOf(opts.variant);
  let n = 0;
  const c = invsCmpFirst(invs, toMerge, cmp);
  for (; invsCmpMore(invs, toMerge, c); invsCmpNext(invs, toMerge, c, cmp)) n++;
  if (opts.nomem) return errno("ENOMEM");
  const out: Inv[] = new Array(n);
  let k = 0;
  let hasAts = false;
  const d = invsCmpFirst(invs, toMerge, cmp);
  for (; invsCmpMore(invs, toMerge, d); invsCmpNext(invs, toMerge, d, cmp)) {
    const e = d.cmp < 0
      ? invCopy(invs.inv[d.i], invs.inv[d.i].users)
      : d.cmp === 0
      ? invCopy(invs.inv[d.i], invs.inv[d.i].users + 1)
      : invCopy(toMerge.inv[d.j], 1);
    // Checks the result is sorted, which also catches an unsorted toMerge.
    if (k > 0 && cmp(out[k - 1], e) === 1) {
      warn(opts.log, "arm_smmu_invs_merge", "WARN_ON_ONCE: merged array is not sorted");
    }
    if (invIsAts(e)) hasAts = true;
    out[k++] = e;
  }
  if (k !== n) warn(opts.log, "arm_smmu_invs_merge", "WARN_ON: count and fill passes differ");
  return { maxInvs: n, numInvs: k, numTrashes: 0, hasAts, inv: out };
}

// Both unref variants end the same way: trash in the trimmed tail is no longer counted, and
// the new length is published under the write lock, so once this returns no ATS reader is
// still walking the removed tail.
function unrefTrim(invs: Invs, keep: number): void {
  invs.numTrashes -= invs.numInvs - keep;
  invs.numInvs = keep;
}

/**
 * Follows arm_smmu_invs_unref(): in place, drops one user from each entry of `toUnref`. An
 * entry reaching zero becomes trash; trailing trash is trimmed off the end. It cannot fail.
 * The caller learns which entries died through `toUnref`: each of its entries is set to
 * users 1 (still used) or 0 (now trash); entries not found keep their count and WARN.
 */
export function invsUnref(invs: Invs, toUnref: Invs, opts: InvsOptions): void {
  let keep = 0;
  const c = invsCmpFirst(invs, toUnref, invCmp);
  for (; invsCmpMore(invs, toUnref, c); invsCmpNext(invs, toUnref, c, invCmp)) {
    if (c.cmp < 0) {
      keep = c.i + 1;
    } else if (c.cmp === 0) {
      const users = invs.inv[c.i].users - 1;
      if (users < 0) {
        warn(opts.log, "arm_smmu_invs_unref", "WARN_ON: users would go negative");
        continue;
      }
      invs.inv[c.i].users = users;
      if (users > 0) {
        toUnref.inv[c.j].users = 1;
        keep = c.i + 1;
        continue;
      }
      toUnref.inv[c.j].users = 0;
      invs.numTrashes++;
    } else {
      warn(opts.log, "arm_smmu_invs_unref", "WARN_ON: entry to unref is missing or already trash");
    }
  }
  unrefTrim(invs, keep);
}

/**
 * Follows the v9 arm_smmu_invs_unref(). v9: a refcount per entry and a `free_fn` callback run
 * on each entry reaching zero, instead of marking `toUnref`. The callback is returned as data:
 * the entries that reached zero, in array order, for the caller to flush.
 */
export function invsUnrefV9(invs: Invs, toUnref: Invs, opts: InvsOptions): Inv[] {
  const freed: Inv[] = [];
  let keep = 0;
  const c = invsCmpFirst(invs, toUnref, invCmpV9);
  for (; invsCmpMore(invs, toUnref, c); invsCmpNext(invs, toUnref, c, invCmpV9)) {
    if (c.cmp < 0) {
      keep = c.i + 1;
    } else if (c.cmp === 0) {
      const e = invs.inv[c.i];
      e.users--;
      if (e.users > 0) {
        keep = c.i + 1;
        continue;
      }
      freed.push(e);
      invs.numTrashes++;
    } else {
      warn(opts.log, "arm_smmu_invs_unref", "WARN_ON: entry to unref is missing or already trash");
    }
  }
  unrefTrim(invs, keep);
  return freed;
}

/**
 * Follows arm_smmu_invs_purge(): a new array of the live entries of `invs` (counts kept), or
 * `null` when there is no trash to drop. Mainline recomputes `hasAts` and returns `null` when
 * the allocation fails; v9 leaves `hasAts` false and returns `ERR_PTR(-ENOMEM)`.
 */
export function invsPurge(invs: Invs, opts: InvsOptions): Invs | ErrnoValue | null {
  const v9 = opts.variant === "v9";
  if (invs.numInvs < invs.numTrashes) {
    warn(opts.log, "arm_smmu_invs_purge", "WARN_ON: more trash than entries");
    return null;
  }
  if (invs.numInvs === 0 || invs.numTrashes === 0) return null;
  if (opts.nomem) return v9 ? errno("ENOMEM") : null;
  const n = invs.numInvs - invs.numTrashes;
  const out: Inv[] = new Array(n);
  let k = 0;
  let hasAts = false;
  for (let i = invsIterNext(invs, 0); i < invs.numInvs; i = invsIterNext(invs, i + 1)) {
    const e = invs.inv[i];
    // v9: the new array keeps has_ats = false, so readers stop taking the ATS read lock.
    if (!v9 && invIsAts(e)) hasAts = true;
    if (k < n) out[k] = invCopy(e, e.users);
    k++;
  }
  if (k !== n) {
    warn(opts.log, "arm_smmu_invs_purge", "WARN_ON: live entries and trash count disagree");
    return null;
  }
  return { maxInvs: n, numInvs: n, numTrashes: 0, hasAts, inv: out };
}
