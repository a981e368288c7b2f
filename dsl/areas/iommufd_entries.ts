/**
 * Invalidation entries as specs write them, and their layout. An entry is an object with the
 * fields of one of the uAPI entry structs (selftest HWPT `{ flags, iotlb_id }`, selftest
 * vIOMMU `{ flags, vdev_id, cache_id }`, VT-d stage 1 `{ addr, npages, flags, reserved }`),
 * or an SMMUv3 command for the ARM vSMMU: canonical text (`TLBI_NH_ASID asid=1`) or its raw
 * words `{ w0, w1 }` for bits no command field describes. Unwritten fields are 0, as in a
 * zero-initialised C array. The layout of a request is the one whose fields its entries
 * use; when several fit (`{ flags: 0 }`), the target object's own layout wins.
 * @module
 */

import { z } from "zod";
import type { EntryKind, InvalidateEntry } from "../../lib/iommufd/mod.ts";
import { smmuCmdOfText, U64, uint } from "../schema.ts";

/** The fields of every entry struct (each layout takes its own, checked at load). */
const EntryFields = z.strictObject({
  flags: uint(32).optional(),
  iotlb_id: uint(32).optional().meta({ description: "selftest HWPT: IOTLB slot" }),
  vdev_id: uint(32).optional().meta({ description: "selftest vIOMMU: virtual device ID" }),
  cache_id: uint(32).optional().meta({ description: "selftest vIOMMU: device cache slot" }),
  addr: U64.optional().meta({ description: "VT-d: start address" }),
  npages: U64.optional().meta({ description: "VT-d: 4 KiB pages (U64_MAX with addr 0: all)" }),
  reserved: uint(32).optional().meta({ description: "VT-d: __reserved" }),
  w0: U64.optional().meta({ description: "ARM: raw command word 0 (bits 63:0)" }),
  w1: U64.optional().meta({ description: "ARM: raw command word 1 (bits 127:64)" }),
});

/** One entry as written. */
export const EntryDecl = z.union([
  z.string().meta({ description: "an SMMUv3 command for the vSMMU, e.g. TLBI_NH_ASID asid=1" }),
  EntryFields,
]).transform((e, ctx) => typeof e === "string" ? smmuCmdOfText(e, ctx) : e);

/** One entry after validation. */
export type EntryDeclT = z.output<typeof EntryDecl>;

/** Field names of each layout (an ARM command line counts as the ARM layout). */
export const LAYOUT_FIELDS: Readonly<Record<EntryKind, readonly string[]>> = {
  selftest: ["flags", "iotlb_id"],
  selftest_viommu: ["flags", "vdev_id", "cache_id"],
  vtd_s1: ["addr", "npages", "flags", "reserved"],
  arm_smmuv3: ["w0", "w1"],
};

/** How each layout is named in messages. */
export const LAYOUT_NAMES: Readonly<Record<EntryKind, string>> = {
  selftest: "selftest HWPT entry",
  selftest_viommu: "selftest vIOMMU entry",
  vtd_s1: "VT-d stage-1 entry",
  arm_smmuv3: "ARM SMMUv3 command",
};

const LAYOUTS = Object.keys(LAYOUT_FIELDS) as EntryKind[];

function fitsLayout(e: EntryDeclT, kind: EntryKind): boolean {
  if (typeof e === "object" && "op" in e) return kind === "arm_smmuv3";
  return Object.keys(e).every((k) => LAYOUT_FIELDS[kind].includes(k));
}

/**
 * The layout of a request's entries: the one layout every entry fits, else the target's
 * own when it is among those that fit. Returns the layouts that fit when that is not one.
 */
export function entriesLayout(
  entries: readonly EntryDeclT[],
  target: EntryKind | undefined,
): EntryKind | readonly EntryKind[] {
  const fit = LAYOUTS.filter((k) => entries.every((e) => fitsLayout(e, k)));
  if (fit.length === 1) return fit[0];
  if (target && fit.includes(target)) return target;
  return fit;
}

/** An entry in the model's terms. */
export function entryOf(e: EntryDeclT, kind: EntryKind): InvalidateEntry {
  if ("op" in e) return { kind: "arm_smmuv3", cmd: e };
  switch (kind) {
    case "selftest":
      return { kind, flags: e.flags, iotlbId: e.iotlb_id };
    case "selftest_viommu":
      return { kind, flags: e.flags, vdevId: e.vdev_id, cacheId: e.cache_id };
    case "vtd_s1":
      return { kind, addr: e.addr, npages: e.npages, flags: e.flags, reserved: e.reserved };
    case "arm_smmuv3":
      return { kind, cmd: [e.w0 ?? 0n, e.w1 ?? 0n] };
  }
}
