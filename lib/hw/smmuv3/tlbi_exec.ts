/**
 * What each SMMUv3 TLB invalidation command removes from the IOTLB and the walk cache.
 *
 * Address ranges: TG = 0 is the single-address form (every entry containing ADDR, whatever
 * its size); TG = 1/2/3 selects the 4K/16K/64K granule and the range is
 * `(NUM + 1) << SCALE` granules from ADDR (ADDR need not be aligned). Entries overlapping
 * the range are removed. LEAF = 1 promises that only leaf entries changed, so the walk cache
 * keeps its table descriptors; a non-zero TTL (range form only) promises the leaf is at that
 * level, so leaves at other levels may survive. The model takes every such promise at its
 * word (the hardware is allowed to keep what the promise excludes), which is the worst case
 * for a driver that promised too much.
 *
 * Scopes: NH_VA / NH_VAA / NH_ASID / NH_ALL act on NS-EL1 stage-1 (and combined) entries of
 * their VMID, never on stage-2-only ones; S2_IPA acts on stage-2-only entries of its VMID
 * (combined entries are indexed by VA, which is why nesting parents add an NH_ALL);
 * S12_VMALL drops every entry of its VMID; NSNH_ALL every NS-EL1 entry; EL2_* the EL2
 * regime, which has no VMID. Stage-1 entries are never global here (io-pgtable-arm sets nG).
 * From Arm IHI 0070 ch.4 and the reference's §11.1–11.2; QEMU's hw/arm/smmu-common.c
 * keeps a simpler subset of these rules.
 * @module
 */

import { tlbInvalidate, type TlbSelect } from "../tlb.ts";
import type { SmmuCaches, SmmuTag } from "./caches.ts";
import type { Cmd, CmdFor } from "./cmd.ts";

/** Where a TLBI applies. */
export interface TlbiScope {
  /** The tag test. */
  match(tag: SmmuTag): boolean;
  /** Input range; absent = every address. */
  readonly start?: bigint;
  /** One past the last input address. */
  readonly end?: bigint;
  /** LEAF = 1: the walk cache is left alone. */
  readonly leafOnly: boolean;
  /** TTL: only leaves at this level (0 = any). */
  readonly ttl: number;
}

/** The range-capable TLBI commands. */
export type TlbiVaCmd = CmdFor<"TLBI_NH_VA" | "TLBI_NH_VAA" | "TLBI_EL2_VA" | "TLBI_S2_IPA">;

/** `[start, end)` of a VA/IPA TLBI: one address for TG = 0, else the decoded range. */
export function tlbiRange(cmd: TlbiVaCmd): { start: bigint; end: bigint; ttl: number } {
  if (cmd.tg === 0) return { start: cmd.addr, end: cmd.addr + 1n, ttl: 0 };
  const granuleShift = BigInt(2 * cmd.tg + 10);
  const pages = BigInt(cmd.num + 1) << BigInt(cmd.scale);
  return { start: cmd.addr, end: cmd.addr + (pages << granuleShift), ttl: cmd.ttl };
}

const el1S1 = (t: SmmuTag, vmid: number) =>
  t.regime === "el1" && t.stage !== "s2" && t.vmid === vmid;

function rangeScope(cmd: TlbiVaCmd, match: (t: SmmuTag) => boolean): TlbiScope {
  return { match, ...tlbiRange(cmd), leafOnly: cmd.leaf };
}

function allScope(match: (t: SmmuTag) => boolean): TlbiScope {
  return { match, leafOnly: false, ttl: 0 };
}

/** The scope of a TLBI command; null for any other command. */
export function tlbiScope(cmd: Cmd): TlbiScope | null {
  switch (cmd.op) {
    case "TLBI_NH_VA":
      return rangeScope(cmd, (t) => el1S1(t, cmd.vmid) && t.asid === cmd.asid);
    case "TLBI_NH_VAA":
      return rangeScope(cmd, (t) => el1S1(t, cmd.vmid));
    case "TLBI_NH_ASID":
      return allScope((t) => el1S1(t, cmd.vmid) && t.asid === cmd.asid);
    case "TLBI_NH_ALL":
      return allScope((t) => el1S1(t, cmd.vmid));
    case "TLBI_EL2_VA":
      return rangeScope(cmd, (t) => t.regime === "el2" && t.asid === cmd.asid);
    case "TLBI_EL2_ASID":
      return allScope((t) => t.regime === "el2" && t.asid === cmd.asid);
    case "TLBI_EL2_ALL":
      return allScope((t) => t.regime === "el2");
    case "TLBI_S2_IPA":
      return rangeScope(cmd, (t) => t.regime === "el1" && t.stage === "s2" && t.vmid === cmd.vmid);
    case "TLBI_S12_VMALL":
      return allScope((t) => t.regime === "el1" && t.vmid === cmd.vmid);
    case "TLBI_NSNH_ALL":
      return allScope((t) => t.regime === "el1");
    default:
      return null;
  }
}

/** Removes what `scope` covers from the IOTLB (and the walk cache unless leaf-only). */
export function tlbiApply(c: SmmuCaches, scope: TlbiScope): void {
  const sel: TlbSelect<SmmuTag> = scope.start === undefined
    ? { match: scope.match }
    : { match: scope.match, start: scope.start, end: scope.end };
  tlbInvalidate(c.iotlb, { ...sel, level: scope.ttl });
  if (!scope.leafOnly) tlbInvalidate(c.walk, sel);
}

/** Acts on one command if it is a TLBI; returns whether it was. */
export function tlbiExecute(c: SmmuCaches, cmd: Cmd): boolean {
  const scope = tlbiScope(cmd);
  if (!scope) return false;
  tlbiApply(c, scope);
  return true;
}
