/**
 * IOMMU_HWPT_INVALIDATE as a scenario step: a request given as structured fields (entries as
 * objects) or with overrides (entry_len, data_type, NULL pointer, size, raw bytes, faults) is
 * laid out in the process's memory the way a C program would (the command struct at one
 * address, the entry array as a C array at another), the ioctl runs, and the result is what
 * the program observes: the return code, `entry_num` read back from its struct, and how the
 * driver op was called. This file is invspec's own (no kernel counterpart).
 * @module
 */

import { encodeCmd } from "../hw/smmuv3/cmd.ts";
import type { Cmd } from "../hw/smmuv3/cmd.ts";
import {
  HWPT_INVALIDATE_SELFTEST,
  hwptInvalidateSelftestEncode,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
  VIOMMU_INVALIDATE_SELFTEST_SIZE,
  viommuInvalidateSelftestEncode,
} from "../drivers/selftest/iommufd_test.ts";
import type { Iommufd } from "./ctx.ts";
import type { Rc } from "./errno.ts";
import type { HwptInvalidateOptions, OpCall } from "./hwpt_invalidate.ts";
import { iommufdIoctl } from "./ioctl.ts";
import {
  ARM_SMMUV3_INVALIDATE_SIZE,
  armSmmuv3InvalidateEncode,
  HWPT_INVALIDATE_SIZE,
  hwptInvalidateEncode,
  IOMMU_HWPT_INVALIDATE,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
  VTD_S1_INVALIDATE,
  vtdS1InvalidateEncode,
} from "./uapi.ts";
import { PAGE_SIZE, userMemMap, userMemPoke, userMemRead } from "./user_mem.ts";

/** One request entry; unwritten fields are 0 (the C array is zero-initialised). */
export type InvalidateEntry =
  /** `struct iommu_hwpt_invalidate_selftest` (mock nested HWPT). */
  | { readonly kind: "selftest"; readonly flags?: number; readonly iotlbId?: number }
  /** `struct iommu_viommu_invalidate_selftest` (mock vIOMMU). */
  | {
    readonly kind: "selftest_viommu";
    readonly flags?: number;
    readonly vdevId?: number;
    readonly cacheId?: number;
  }
  /** `struct iommu_hwpt_vtd_s1_invalidate`. */
  | {
    readonly kind: "vtd_s1";
    readonly addr?: bigint;
    readonly npages?: bigint;
    readonly flags?: number;
    readonly reserved?: number;
  }
  /** `struct iommu_viommu_arm_smmuv3_invalidate`: a command, or its two raw words. */
  | { readonly kind: "arm_smmuv3"; readonly cmd: Cmd | readonly [bigint, bigint] };

/** The kind of an entry. */
export type EntryKind = InvalidateEntry["kind"];

/** Each entry kind's data type and C size. */
export const ENTRY_KINDS: Readonly<Record<EntryKind, { dataType: number; size: number }>> = {
  selftest: { dataType: IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, size: HWPT_INVALIDATE_SELFTEST.size },
  selftest_viommu: {
    dataType: IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
    size: VIOMMU_INVALIDATE_SELFTEST_SIZE,
  },
  vtd_s1: { dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, size: VTD_S1_INVALIDATE.size },
  arm_smmuv3: {
    dataType: IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
    size: ARM_SMMUV3_INVALIDATE_SIZE,
  },
};

/** An IOMMU_HWPT_INVALIDATE request. Everything but `hwptId` has a natural default. */
export interface InvalidateRequest {
  /** `hwpt_id`: a nested HWPT or a vIOMMU (0 or a stale ID for ENOENT). */
  readonly hwptId: number;
  /** The entries, laid out as a C array at their natural size. */
  readonly entries?: readonly InvalidateEntry[];
  /** Raw array bytes instead of `entries`. */
  readonly data?: Uint8Array;
  /** `data_type` (default: the entries' type, else the target object's). */
  readonly dataType?: number;
  /** `entry_len` (default: the entries' C size, else the target's entry size). */
  readonly entryLen?: number;
  /** `entry_num` (default: the number of entries). */
  readonly entryNum?: number;
  /** `data_uptr` (default: where the array was placed; `0n` is NULL). */
  readonly dataUptr?: bigint;
  /** `__reserved` (default 0). */
  readonly reserved?: number;
  /** `size` (default 32 plus the length of `tail`). */
  readonly size?: number;
  /** Bytes the program placed right after the 32-byte struct (read when `size` > 32). */
  readonly tail?: Uint8Array;
  /** The ioctl number (default `IOMMU_HWPT_INVALIDATE`). */
  readonly ioctl?: number;
  /** The ioctl argument (default: where the struct was placed). */
  readonly arg?: bigint;
  /**
   * Byte offset into the array where its memory ends: reads from there fault. Without it
   * the memory runs to the end of the array's last page (zeros past the data), as a C array
   * in a larger mapping would.
   */
  readonly dataFaultAt?: number;
  /** Byte offset into the command struct where its memory ends. */
  readonly cmdFaultAt?: number;
  /** Map the command struct read-only, so copying the result back faults. */
  readonly readOnlyCmd?: boolean;
}

/** What the calling program observes, plus how the op was called. */
export interface InvalidateResult {
  /** `0`, or the errno the ioctl failed with. */
  readonly rc: Rc;
  /** `entry_num` as the program reads it from its struct afterwards. */
  readonly entryNum: number;
  /** How many times the driver op ran. */
  readonly opCalls: number;
  /** Each op call (empty when the ioctl failed before the op). */
  readonly calls: readonly OpCall[];
  /** Where the entry array was placed. */
  readonly dataAddr: bigint;
}

/** Where requests are placed in the process's memory (page aligned, far apart). */
export const REQUEST_CMD_ADDR = 0x1000_0000n;
/** Where the entry array is placed. */
export const REQUEST_DATA_ADDR = 0x2000_0000n;
const WINDOW = 0x1000_0000n;

function entryBytes(e: InvalidateEntry): Uint8Array {
  switch (e.kind) {
    case "selftest":
      return hwptInvalidateSelftestEncode({ flags: e.flags ?? 0, iotlbId: e.iotlbId ?? 0 });
    case "selftest_viommu":
      return viommuInvalidateSelftestEncode({
        flags: e.flags ?? 0,
        vdevId: e.vdevId ?? 0,
        cacheId: e.cacheId ?? 0,
      });
    case "vtd_s1":
      return vtdS1InvalidateEncode({
        addr: e.addr ?? 0n,
        npages: e.npages ?? 0n,
        flags: e.flags ?? 0,
        reserved: e.reserved ?? 0,
      });
    case "arm_smmuv3": {
      const words = "op" in e.cmd ? encodeCmd(e.cmd) : e.cmd;
      return armSmmuv3InvalidateEncode([words[0], words[1]]);
    }
  }
}

/** Encodes entries as a C array (all of one kind). */
export function entriesEncode(entries: readonly InvalidateEntry[]): Uint8Array {
  const kinds = new Set(entries.map((e) => e.kind));
  if (kinds.size > 1) throw new TypeError(`Cannot mix entry kinds: ${[...kinds].join(", ")}`);
  const size = entries.length ? ENTRY_KINDS[entries[0].kind].size : 0;
  const out = new Uint8Array(size * entries.length);
  entries.forEach((e, i) => out.set(entryBytes(e), i * size));
  return out;
}

// The entry type an object takes, for requests that do not say (a probe, raw bytes).
function targetKind(fd: Iommufd, id: number): EntryKind | undefined {
  const obj = fd.objects.get(id);
  if (obj?.type === "HWPT_NESTED") {
    const d = obj.domain.driver;
    return d === "selftest" ? "selftest" : d === "intel" ? "vtd_s1" : undefined;
  }
  if (obj?.type === "VIOMMU") {
    return obj.viommu.driver === "selftest" ? "selftest_viommu" : "arm_smmuv3";
  }
  return undefined;
}

function clearWindow(fd: Iommufd, base: bigint): void {
  for (const p of [...fd.mem.pages.keys()]) {
    const a = p * PAGE_SIZE;
    if (a >= base && a < base + WINDOW) {
      fd.mem.pages.delete(p);
      fd.mem.readonly.delete(p);
    }
  }
}

// Places `bytes` in a fresh window. With `faultAt`, memory ends exactly `faultAt` bytes in:
// the start is shifted so that offset lands on a page boundary, and nothing is mapped past it.
function place(
  fd: Iommufd,
  window: bigint,
  bytes: Uint8Array,
  opts: { readonly faultAt?: number; readonly writable?: boolean },
): bigint {
  clearWindow(fd, window);
  const page = Number(PAGE_SIZE);
  const { faultAt } = opts;
  const base = faultAt === undefined ? window : window + BigInt((page - (faultAt % page)) % page);
  const mapped = faultAt === undefined ? Math.max(bytes.length, 1) : faultAt;
  if (mapped > 0) {
    userMemMap(fd.mem, base, mapped, { writable: opts.writable });
    userMemPoke(fd.mem, base, bytes.subarray(0, mapped));
  }
  return base;
}

/**
 * Runs one IOMMU_HWPT_INVALIDATE the way a program would issue it (the spec verbs
 * `hwpt_invalidate` and `viommu_invalidate` are both this ioctl; `hwptId` names a nested
 * HWPT or a vIOMMU).
 */
export function hwptInvalidate(
  fd: Iommufd,
  req: InvalidateRequest,
  opts: HwptInvalidateOptions = {},
): InvalidateResult {
  const entries = req.entries ?? [];
  const data = req.data ?? entriesEncode(entries);
  const kind = entries[0]?.kind ?? targetKind(fd, req.hwptId);
  const dataAddr = place(fd, REQUEST_DATA_ADDR, data, { faultAt: req.dataFaultAt });
  const entryNum = req.entryNum ?? entries.length;
  const tail = req.tail ?? new Uint8Array(0);
  const cmd = new Uint8Array(HWPT_INVALIDATE_SIZE + tail.length);
  cmd.set(hwptInvalidateEncode({
    size: req.size ?? HWPT_INVALIDATE_SIZE + tail.length,
    hwptId: req.hwptId,
    dataUptr: req.dataUptr ?? dataAddr,
    dataType: req.dataType ?? (kind ? ENTRY_KINDS[kind].dataType : 0),
    entryLen: req.entryLen ?? (kind ? ENTRY_KINDS[kind].size : 0),
    entryNum,
    reserved: req.reserved ?? 0,
  }));
  cmd.set(tail, HWPT_INVALIDATE_SIZE);
  const cmdAddr = place(fd, REQUEST_CMD_ADDR, cmd, {
    faultAt: req.cmdFaultAt,
    writable: !req.readOnlyCmd,
  });
  const r = iommufdIoctl(
    fd,
    { cmd: req.ioctl ?? IOMMU_HWPT_INVALIDATE, arg: req.arg ?? cmdAddr },
    opts,
  );
  // The program reads entry_num back from its own struct (its own, unchanged copy if that
  // part of the struct was never mapped).
  const back = userMemRead(fd.mem, cmdAddr + 24n, 4);
  const readBack = back.done === 4 ? new DataView(back.bytes.buffer).getUint32(0, true) : entryNum;
  const calls = r.handler?.calls ?? [];
  return { rc: r.rc, entryNum: readBack, opCalls: calls.length, calls, dataAddr };
}
