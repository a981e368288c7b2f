/**
 * VT-d queued-invalidation descriptors as typed values (Intel VT-d spec, chapter 6.5.2),
 * with the field layout of the `QI_*` macros in drivers/iommu/intel/iommu.h, bit-exact
 * encode/decode, and the canonical one-line text form.
 *
 * Opcode names are the `qi_submit` trace names upper-cased (`IOTLB_INV`, `DEV_TLB_INV`,
 * `P_IOTLB_INV`, `P_DEV_TLB_INV`, `PC_INV`, `CC_INV`, `IEC_INV`, `INV_WAIT`), so they never
 * collide with SMMUv3 names (`CMD_SYNC`, `ATC_INV`, `TLBI_*`). The short names of the
 * reference's suggested text form (`IOTLB`, `DEVTLB`, `PIOTLB`, `PDEVTLB`, `WAIT`, `CC`,
 * `PC`, `IEC`) are accepted as aliases.
 *
 * Every descriptor Linux builds here uses only qw0 and qw1 (qw2/qw3 are zero in the
 * 256-bit scalable-mode slot), so a descriptor encodes to two 64-bit words.
 *
 * The two device-TLB descriptors do not store their size as a bit field: software ORs
 * ones into the page address below the size bit and sets S. Their typed value keeps the
 * logical `addr` and `mask` / `size_order`, and the PF source id as one 16-bit `pfsid`
 * (the hardware splits it over bits 15:12 and 63:52); {@link encodeDesc} and
 * {@link decodeDesc} translate through a raw table that is bit-exact.
 *
 * Models iommu.h `QI_*` macros and the `qi_desc_*` layouts at mainline (v7.1 queue,
 * April 2026).
 * @module
 */

import { genmask, hex } from "../../bits.ts";
import {
  type AnyCmdOf,
  cmdDecode,
  cmdEncode,
  type CmdLike,
  type CmdOf,
  type Codec,
  fieldAddr,
  fieldFlag,
  type FieldSpec,
  fieldU,
} from "../codec.ts";
import {
  cmdFormat,
  cmdParse,
  type CmdPattern,
  type FormatOptions,
  type ParseOptions,
  patternToCmd,
} from "../cmd_text.ts";

/** `QI_LENGTH`: invalidation queue slots. */
export const QI_LENGTH = 256;
/** `QI_DONE`: the status value a wait descriptor writes on completion. */
export const QI_DONE = 2;
/** `QI_DEV_IOTLB_MAX_INVS`: a queue depth this large is written as 0. */
export const QI_DEV_IOTLB_MAX_INVS = 32;
/** Largest size order a device-TLB descriptor can express (2^52 pages: everything). */
export const DEV_TLB_MAX_ORDER = 52;

/** IOTLB granularity: global (`DMA_TLB_GLOBAL_FLUSH >> 60`). */
export const QI_IOTLB_GRAN_GLOBAL = 1;
/** IOTLB granularity: domain-selective. */
export const QI_IOTLB_GRAN_DSI = 2;
/** IOTLB granularity: page-selective within the domain. */
export const QI_IOTLB_GRAN_PSI = 3;
/** PASID-IOTLB granularity `QI_GRAN_NONG_PASID`: all non-global entries of the PASID. */
export const QI_GRAN_NONG_PASID = 2;
/** PASID-IOTLB granularity `QI_GRAN_PSI_PASID`: page-selective within the PASID. */
export const QI_GRAN_PSI_PASID = 3;
/** PASID-cache granularity `QI_PC_ALL_PASIDS`: every PASID of the domain. */
export const QI_PC_ALL_PASIDS = 0;
/** PASID-cache granularity `QI_PC_PASID_SEL`: one PASID of the domain. */
export const QI_PC_PASID_SEL = 1;
/** PASID-cache granularity `QI_PC_GLOBAL`. */
export const QI_PC_GLOBAL = 3;
/** Context-cache granularity: global (`DMA_CCMD_GLOBAL_INVL >> 61`). */
export const QI_CC_GRAN_GLOBAL = 1;
/** Context-cache granularity: domain-selective. */
export const QI_CC_GRAN_DOMAIN = 2;
/** Context-cache granularity: device-selective. */
export const QI_CC_GRAN_DEVICE = 3;

const u = fieldU;
const flag = fieldFlag;
const addr = fieldAddr;
function gran(names: readonly (string | undefined)[], hi = 5, lo = 4) {
  return { kind: "enum", word: 0, hi, lo, names } as const;
}

const DID = u(0, 31, 16);
const PASID = u(0, 51, 32, { hex: true });
const PAGE = addr(1, 63, 12);
const AM = u(1, 5, 0);
const IH = flag(1, 6);
// Logical fields of the device-TLB descriptors: only the width bounds the value; the
// position is not where the bits go (encodeDesc() places them).
const L_PFSID = u(0, 15, 0, { hex: true });
const L_ORDER = u(1, 5, 0);

/**
 * The opcode table (logical view), field order = canonical text order. The wait
 * descriptor's completion address points at its own queue slot, so it is a `free` field;
 * its status-write flag and data default to what the driver always writes (SW, QI_DONE),
 * so a plain `INV_WAIT` is the driver's normal wait.
 */
export const VTD_OPS = {
  CC_INV: {
    code: 0x1,
    fields: {
      gran: gran([undefined, "global", "domain", "device"]),
      did: DID,
      sid: u(0, 47, 32, { hex: true }),
      fm: u(0, 49, 48),
    },
  },
  IOTLB_INV: {
    code: 0x2,
    fields: {
      gran: gran([undefined, "global", "dsi", "psi"]),
      did: DID,
      addr: PAGE,
      am: AM,
      ih: IH,
      dr: flag(0, 7),
      dw: flag(0, 6),
    },
  },
  DEV_TLB_INV: {
    code: 0x3,
    fields: {
      sid: u(0, 47, 32, { hex: true }),
      pfsid: L_PFSID,
      qdep: u(0, 20, 16),
      addr: PAGE,
      mask: L_ORDER,
    },
  },
  IEC_INV: {
    code: 0x4,
    fields: { gran: gran(["global", "index"], 4, 4), iidx: u(0, 47, 32), im: u(0, 31, 27) },
  },
  INV_WAIT: {
    code: 0x5,
    fields: {
      iflag: flag(0, 4),
      sw: { ...flag(0, 5), def: true },
      fence: flag(0, 6),
      drain: flag(0, 7),
      data: u(0, 63, 32, { def: QI_DONE }),
      // The status dword of the wait's own slot: position, not request.
      addr: { ...addr(1, 63, 2), free: true },
    },
  },
  P_IOTLB_INV: {
    code: 0x6,
    fields: {
      gran: gran([undefined, undefined, "pasid", "psi"]),
      did: DID,
      pasid: PASID,
      addr: PAGE,
      am: AM,
      ih: IH,
    },
  },
  PC_INV: {
    code: 0x7,
    fields: { gran: gran(["all", "pasid", undefined, "global"]), did: DID, pasid: PASID },
  },
  P_DEV_TLB_INV: {
    code: 0x8,
    fields: {
      sid: u(0, 31, 16, { hex: true }),
      pfsid: L_PFSID,
      pasid: PASID,
      qdep: u(0, 8, 4),
      addr: PAGE,
      size_order: L_ORDER,
      global: flag(1, 0),
    },
  },
} as const satisfies { readonly [op: string]: { code: number; fields: Record<string, FieldSpec> } };

/** Descriptor names. */
export type DescOp = keyof typeof VTD_OPS;
/** One descriptor, discriminated by `op`. */
export type Desc = AnyCmdOf<typeof VTD_OPS>;
/** The descriptor of one opcode, e.g. `DescFor<"DEV_TLB_INV">`. */
export type DescFor<K extends DescOp> = CmdOf<typeof VTD_OPS, K>;
/** qw0 and qw1 of an encoded descriptor. */
export type DescWords = [bigint, bigint];

const PFSID_LO = u(0, 15, 12);
const PFSID_HI = u(0, 63, 52);

// The bit-exact view: the device-TLB descriptors store pfsid split in two and the size
// in the address bits (`qw1` page bits plus S); the other opcodes are stored as they read.
const RAW_OPS = {
  ...VTD_OPS,
  DEV_TLB_INV: {
    code: 0x3,
    fields: {
      sid: VTD_OPS.DEV_TLB_INV.fields.sid,
      qdep: VTD_OPS.DEV_TLB_INV.fields.qdep,
      pfsid_lo: PFSID_LO,
      pfsid_hi: PFSID_HI,
      bits: PAGE,
      s: flag(1, 0),
    },
  },
  P_DEV_TLB_INV: {
    code: 0x8,
    fields: {
      sid: VTD_OPS.P_DEV_TLB_INV.fields.sid,
      pasid: PASID,
      qdep: VTD_OPS.P_DEV_TLB_INV.fields.qdep,
      pfsid_lo: PFSID_LO,
      pfsid_hi: PFSID_HI,
      bits: PAGE,
      s: flag(1, 11),
      global: flag(1, 0),
    },
  },
} as const;

function opcodeOf(w: readonly bigint[]): number {
  return Number(w[0] & 0xfn);
}
function opcodeWords(code: number): bigint[] {
  return [BigInt(code & 0xf), 0n];
}

/** The VT-d descriptor codec for text and typing (qw0 bits [3:0] hold the type). */
export const VTD_CODEC: Codec = {
  family: "VT-d descriptor",
  words: 2,
  ops: VTD_OPS,
  aliases: {
    CC: "CC_INV",
    IOTLB: "IOTLB_INV",
    DEVTLB: "DEV_TLB_INV",
    IEC: "IEC_INV",
    WAIT: "INV_WAIT",
    PIOTLB: "P_IOTLB_INV",
    PC: "PC_INV",
    PDEVTLB: "P_DEV_TLB_INV",
  },
  opcodeOf,
  opcodeWords,
};

const RAW_CODEC: Codec = { ...VTD_CODEC, family: "VT-d descriptor (raw)", ops: RAW_OPS };

/**
 * The address bits of a device-TLB descriptor: the page address with ones below the size
 * bit. Order 0 is one 4 KiB page (S clear); order n > 0 sets bits 12..12+n-2, leaves bit
 * 12+n-1 clear and sets S.
 */
export function devTlbSizeEncode(page: bigint, order: number): { bits: bigint; s: boolean } {
  if (order === 0) return { bits: page, s: false };
  return { bits: page | genmask(12 + order - 2, 12), s: true };
}

/** Reverse of {@link devTlbSizeEncode}: the lowest clear bit at or above 12 is the size. */
export function devTlbSizeDecode(bits: bigint, s: boolean): { page: bigint; order: number } {
  if (!s) return { page: bits, order: 0 };
  for (let b = 12; b < 64; b++) {
    if ((bits >> BigInt(b) & 1n) === 0n) {
      const order = b - 11;
      return { page: bits & ~genmask(b, 0), order };
    }
  }
  throw new RangeError(`Cannot decode device-TLB size: address bits ${hex(bits)} have no 0 bit`);
}

type DevTlb = DescFor<"DEV_TLB_INV"> | DescFor<"P_DEV_TLB_INV">;

function isDevTlb(d: CmdLike): d is CmdLike & DevTlb {
  return d.op === "DEV_TLB_INV" || d.op === "P_DEV_TLB_INV";
}

function toRaw(d: DevTlb): CmdLike {
  const order = d.op === "DEV_TLB_INV" ? d.mask : d.size_order;
  const name = d.op === "DEV_TLB_INV" ? "mask" : "size_order";
  if (!Number.isInteger(order) || order < 0 || order > DEV_TLB_MAX_ORDER) {
    throw new RangeError(`Cannot encode ${d.op}: ${name} ${order} is not in 0..52`);
  }
  const size = 1n << BigInt(12 + order);
  if (typeof d.addr !== "bigint" || d.addr < 0n) {
    throw new RangeError(`Cannot encode ${d.op}: addr must be a non-negative bigint`);
  }
  if ((d.addr & (size - 1n)) !== 0n) {
    throw new RangeError(
      `Cannot encode ${d.op}: addr ${hex(d.addr)} is not aligned to its size ${hex(size)}`,
    );
  }
  const { bits, s } = devTlbSizeEncode(d.addr, order);
  const pfsid = d.pfsid;
  if (!Number.isInteger(pfsid) || pfsid < 0 || pfsid > 0xffff) {
    throw new RangeError(`Cannot encode ${d.op}: pfsid ${pfsid} does not fit in 16 bits`);
  }
  const raw: Record<string, unknown> = {
    ...d,
    pfsid_lo: pfsid & 0xf,
    pfsid_hi: pfsid >> 4,
    bits,
    s,
  };
  delete raw.pfsid;
  delete raw.addr;
  delete raw[name];
  return raw as CmdLike;
}

/** Encodes to qw0/qw1, bit-exact; a value that does not fit is a `RangeError`. */
export function encodeDesc(desc: Desc): DescWords {
  const d = desc as unknown as CmdLike;
  const [w0, w1] = isDevTlb(d) ? cmdEncode(RAW_CODEC, toRaw(d)) : cmdEncode(VTD_CODEC, d);
  return [w0, w1];
}

/** Decodes qw0/qw1 (qw2/qw3 are not used); unknown types or stray bits are a `RangeError`. */
export function decodeDesc(words: readonly bigint[]): Desc {
  const raw = cmdDecode(RAW_CODEC, words);
  if (raw.op !== "DEV_TLB_INV" && raw.op !== "P_DEV_TLB_INV") return raw as unknown as Desc;
  const { page, order } = devTlbSizeDecode(raw.bits as bigint, raw.s as boolean);
  const pfsid = (raw.pfsid_lo as number) | (raw.pfsid_hi as number) << 4;
  const out: Record<string, unknown> = { op: raw.op };
  for (const name of Object.keys(VTD_OPS[raw.op].fields)) {
    if (name === "pfsid") out.pfsid = pfsid;
    else if (name === "addr") out.addr = page;
    else if (name === "mask" || name === "size_order") out[name] = order;
    else out[name] = raw[name];
  }
  return out as unknown as Desc;
}

/** The `qi_submit` trace name of a descriptor type (`qw0 & 0xf`), e.g. `iotlb_inv`. */
export function descTraceName(op: DescOp): string {
  return op.toLowerCase();
}

/**
 * Canonical text, e.g. `IOTLB_INV gran=psi did=5 am=2 ih dr dw`. The status address of
 * an `INV_WAIT` (its own queue slot) is printed only with `full`.
 */
export function formatDesc(desc: Desc, opts: FormatOptions = {}): string {
  return cmdFormat(VTD_CODEC, desc as unknown as CmdLike, opts);
}

/** Parses canonical text into a descriptor (fields in any order, defaults filled). */
export function parseDesc(text: string): Desc {
  return patternToCmd(VTD_CODEC, cmdParse(VTD_CODEC, text)) as unknown as Desc;
}

/** Parses an expectation line, allowing `_` and `$NAME` field values. */
export function parseDescPattern(
  text: string,
  opts: ParseOptions = { pattern: true },
): CmdPattern {
  return cmdParse(VTD_CODEC, text, opts);
}

/**
 * A descriptor of `op` with every field at its default, then `fields` applied: the
 * model's equivalent of the kernel zeroing a `struct qi_desc` before filling it.
 */
export function makeDesc<K extends DescOp>(
  op: K,
  fields: Partial<Omit<DescFor<K>, "op">> = {},
): DescFor<K> {
  const d: Record<string, unknown> = { op };
  for (const [name, f] of Object.entries(VTD_OPS[op].fields) as [string, FieldSpec][]) {
    d[name] = f.def ?? (f.kind === "flag" ? false : f.kind === "addr" ? 0n : 0);
  }
  return Object.assign(d, fields) as DescFor<K>;
}
