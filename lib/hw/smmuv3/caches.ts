/**
 * The caches of an SMMUv3, as plain data: the configuration cache (STEs by StreamID, CDs by
 * StreamID and SubstreamID), the IOTLB (leaf translations) and the walk cache (table
 * descriptors met on the way down). TLB entries are tagged with the translation regime
 * (NS-EL1, whose entries carry a VMID, or EL2 with E2H, whose entries do not), the stage
 * (stage 1, stage 2, or combined when nested), the VMID and the ASID.
 *
 * The configuration invalidations follow the architecture's scopes (Arm IHI 0070,
 * CMD_CFGI_*): an STE invalidation drops that STE only (the driver invalidates CDs with
 * their own commands), CFGI_CD one CD, CFGI_CD_ALL every CD of a StreamID, CFGI_ALL
 * everything. Not a kernel structure: what the driver's commands act on.
 * @module
 */

import { type StaleMark, type Tlb, tlbCreate, type TlbTag } from "../tlb.ts";
import type { Cmd } from "./cmd.ts";

/** NS-EL1 (VMID-tagged) or EL2 with E2H (no VMID). */
export type SmmuRegime = "el1" | "el2";
/** Stage-1 only, stage-2 only, or a combined nested entry. */
export type SmmuStage = "s1" | "s2" | "nested";

/** The tag of an IOTLB or walk-cache entry. */
export interface SmmuTag extends TlbTag {
  /** Translation regime. */
  readonly regime: SmmuRegime;
  /** Which stages the entry translates. */
  readonly stage: SmmuStage;
  /** VMID (0 for NS-EL1 stage 1 and for EL2). */
  readonly vmid: number;
  /** ASID (0 for stage-2 entries). */
  readonly asid: number;
}

/** A cached STE. */
export interface CachedSte {
  /** StreamID. */
  readonly sid: number;
  /** The qwords as read. */
  readonly ste: readonly bigint[];
  /** Stamp of the fill. */
  readonly filled: number;
  /** The stale check's mark. */
  stale?: StaleMark;
}

/** A cached CD. */
export interface CachedCd {
  /** StreamID of the stream it was read for. */
  readonly sid: number;
  /** SubstreamID. */
  readonly ssid: number;
  /** The qwords as read. */
  readonly cd: readonly bigint[];
  /** Address of the CD table it was read from. */
  readonly table: bigint;
  /** Stamp of the fill. */
  readonly filled: number;
  /** The stale check's mark. */
  stale?: StaleMark;
}

/** Every cache of one SMMU. */
export interface SmmuCaches {
  /** STEs by StreamID. */
  readonly ste: Map<number, CachedSte>;
  /** CDs by {@link cdKey}. */
  readonly cd: Map<string, CachedCd>;
  /** Leaf translations. */
  readonly iotlb: Tlb<SmmuTag>;
  /** Table descriptors. */
  readonly walk: Tlb<SmmuTag>;
}

/** A tag, with its key. */
export function smmuTag(t: Omit<SmmuTag, "key">): SmmuTag {
  return { key: `${t.regime}/${t.stage}/${t.vmid}/${t.asid}`, ...t };
}

/** Key of a CD cache entry. */
export function cdKey(sid: number, ssid: number): string {
  return `${sid}:${ssid}`;
}

/** Empty caches. */
export function smmuCachesCreate(): SmmuCaches {
  return { ste: new Map(), cd: new Map(), iotlb: tlbCreate(), walk: tlbCreate() };
}

/** Whether nothing at all is cached (commands then have nothing to act on). */
export function smmuCachesEmpty(c: SmmuCaches): boolean {
  return c.ste.size === 0 && c.cd.size === 0 && c.iotlb.entries.length === 0 &&
    c.walk.entries.length === 0;
}

/**
 * Acts on a CFGI_* command. CFGI_ALL (CFGI_STE_RANGE with RANGE 31) drops every STE and CD;
 * a smaller RANGE drops the STEs of the StreamIDs below 2^(RANGE+1).
 */
export function cfgiExecute(c: SmmuCaches, cmd: Cmd): void {
  switch (cmd.op) {
    case "CFGI_STE":
      c.ste.delete(cmd.sid);
      return;
    case "CFGI_CD":
      c.cd.delete(cdKey(cmd.sid, cmd.ssid));
      return;
    case "CFGI_CD_ALL":
      for (const [k, e] of c.cd) if (e.sid === cmd.sid) c.cd.delete(k);
      return;
    case "CFGI_ALL": {
      if (cmd.range >= 31) {
        c.ste.clear();
        c.cd.clear();
        return;
      }
      const last = 2 ** (cmd.range + 1) - 1;
      for (const sid of c.ste.keys()) if (sid <= last) c.ste.delete(sid);
      return;
    }
  }
}
