/**
 * SMMUv3 command-queue entries as typed values (Arm IHI 0070, chapter 4), with the field
 * layout of arm-smmu-v3.h (`CMDQ_*` masks) and the canonical one-line text form.
 * Every entry is two little-endian 64-bit words: word0 = bits 63:0, word1 = bits 127:64.
 * Models arm-smmu-v3.h and arm_smmu_cmdq_build_cmd() at mainline 6a01b9f0a5ec.
 * @module
 */

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

/** `CMDQ_ENT_DWORDS`. */
export const CMDQ_ENT_DWORDS = 2;
/** `CMDQ_TLBI_RANGE_NUM_MAX`. */
export const CMDQ_TLBI_RANGE_NUM_MAX = 31;
/** `ATC_INV_SIZE_ALL`: 2^52 pages of 4 KiB, i.e. everything. */
export const ATC_INV_SIZE_ALL = 52;
/** `ARM_SMMU_SH_ISH`. */
export const ARM_SMMU_SH_ISH = 3;
/** `ARM_SMMU_MEMATTR_OIWB`. */
export const ARM_SMMU_MEMATTR_OIWB = 0xf;

/** `CMDQ_SYNC_0_CS_*`. */
export const CMDQ_SYNC_0_CS_NONE = 0;
export const CMDQ_SYNC_0_CS_IRQ = 1;
export const CMDQ_SYNC_0_CS_SEV = 2;

const u = fieldU;
const flag = fieldFlag;
const addr = fieldAddr;

// TLBI fields: CMDQ_TLBI_0_* and CMDQ_TLBI_1_*.
const NUM = u(0, 16, 12);
const SCALE = u(0, 24, 20);
const VMID = u(0, 47, 32);
const ASID = u(0, 63, 48);
const LEAF = flag(1, 0);
const TTL = u(1, 9, 8);
/** TG: 0 = non-range form, 1/2/3 = 4K/16K/64K granule. */
const TG = {
  kind: "enum",
  word: 1,
  hi: 11,
  lo: 10,
  names: [undefined, "4K", "16K", "64K"],
} as const;
const VA = addr(1, 63, 12);
const IPA = addr(1, 51, 12);
// CMDQ_CFGI_*, CMDQ_ATC_*, CMDQ_PRI_*, CMDQ_RESUME_*.
const SID = u(0, 63, 32, { hex: true });
const SSID = u(0, 31, 12);
const SSV = flag(0, 11);

/**
 * The opcode table, field order = canonical text order. Fields the driver always fills
 * with the same constant default to it (CFGI_ALL range 31; CMD_SYNC cs/msh/msiattr).
 */
export const SMMU_OPS = {
  PREFETCH_CFG: { code: 0x01, fields: { sid: SID } },
  CFGI_STE: { code: 0x03, fields: { sid: SID, leaf: LEAF } },
  CFGI_ALL: { code: 0x04, fields: { range: u(1, 4, 0, { def: 31 }) } },
  CFGI_CD: { code: 0x05, fields: { sid: SID, ssid: SSID, leaf: LEAF } },
  CFGI_CD_ALL: { code: 0x06, fields: { sid: SID } },
  TLBI_NH_ALL: { code: 0x10, fields: { vmid: VMID } },
  TLBI_NH_ASID: { code: 0x11, fields: { asid: ASID, vmid: VMID } },
  TLBI_NH_VA: {
    code: 0x12,
    fields: {
      asid: ASID,
      vmid: VMID,
      addr: VA,
      num: NUM,
      scale: SCALE,
      ttl: TTL,
      tg: TG,
      leaf: LEAF,
    },
  },
  TLBI_NH_VAA: {
    code: 0x13,
    fields: { vmid: VMID, addr: VA, num: NUM, scale: SCALE, ttl: TTL, tg: TG, leaf: LEAF },
  },
  TLBI_EL2_ALL: { code: 0x20, fields: {} },
  TLBI_EL2_ASID: { code: 0x21, fields: { asid: ASID } },
  TLBI_EL2_VA: {
    code: 0x22,
    fields: { asid: ASID, addr: VA, num: NUM, scale: SCALE, ttl: TTL, tg: TG, leaf: LEAF },
  },
  TLBI_S12_VMALL: { code: 0x28, fields: { vmid: VMID } },
  TLBI_S2_IPA: {
    code: 0x2a,
    fields: { vmid: VMID, addr: IPA, num: NUM, scale: SCALE, ttl: TTL, tg: TG, leaf: LEAF },
  },
  TLBI_NSNH_ALL: { code: 0x30, fields: {} },
  ATC_INV: {
    code: 0x40,
    fields: {
      sid: SID,
      ssv: SSV,
      ssid: SSID,
      global: flag(0, 9),
      addr: addr(1, 63, 12),
      size: u(1, 5, 0),
    },
  },
  PRI_RESP: {
    code: 0x41,
    fields: {
      sid: SID,
      ssv: SSV,
      ssid: SSID,
      grpid: u(1, 8, 0),
      resp: { kind: "enum", word: 1, hi: 13, lo: 12, names: ["deny", "fail", "success"] },
    },
  },
  RESUME: {
    code: 0x44,
    fields: {
      sid: SID,
      resp: { kind: "enum", word: 0, hi: 13, lo: 12, names: ["term", "retry", "abort"] },
      stag: u(1, 15, 0, { hex: true }),
    },
  },
  CMD_SYNC: {
    code: 0x46,
    fields: {
      cs: { kind: "enum", word: 0, hi: 13, lo: 12, names: ["none", "irq", "sev"], def: 2 },
      msh: u(0, 23, 22, { def: ARM_SMMU_SH_ISH }),
      msiattr: u(0, 27, 24, { def: ARM_SMMU_MEMATTR_OIWB, hex: true }),
      msidata: u(0, 63, 32, { hex: true }),
      // MSI polling points each SYNC at its own queue slot: position, not request.
      msiaddr: { ...addr(1, 51, 2), free: true },
    },
  },
} as const satisfies { readonly [op: string]: { code: number; fields: Record<string, FieldSpec> } };

/** Opcode names (without `CMDQ_OP_`). */
export type CmdOp = keyof typeof SMMU_OPS;
/** One SMMUv3 command, discriminated by `op`. */
export type Cmd = AnyCmdOf<typeof SMMU_OPS>;
/** The command of one opcode, e.g. `CmdFor<"ATC_INV">`. */
export type CmdFor<K extends CmdOp> = CmdOf<typeof SMMU_OPS, K>;
/** The two words of an encoded command. */
export type CmdWords = [bigint, bigint];

/** The SMMUv3 command codec (word0 bits [7:0] hold the opcode). */
export const SMMU_CODEC: Codec = {
  family: "SMMUv3 command",
  words: CMDQ_ENT_DWORDS,
  ops: SMMU_OPS,
  aliases: { SYNC: "CMD_SYNC" },
  opcodeOf: (w) => Number(w[0] & 0xffn),
  opcodeWords: (code) => [BigInt(code & 0xff), 0n],
};

/** Opcode value of a name, e.g. `CMDQ_OP_TLBI_NH_VA` = 0x12. */
export function cmdOpcode(op: CmdOp): number {
  return SMMU_OPS[op].code;
}

/** Encodes to two words, bit-exact; an out-of-range field is a `RangeError`. */
export function encodeCmd(cmd: Cmd): CmdWords {
  const [w0, w1] = cmdEncode(SMMU_CODEC, cmd as unknown as CmdLike);
  return [w0, w1];
}

/** Decodes two words; an unknown opcode or stray bits are a `RangeError`. */
export function decodeCmd(words: readonly [bigint, bigint] | readonly bigint[]): Cmd {
  return cmdDecode(SMMU_CODEC, words) as unknown as Cmd;
}

/**
 * Canonical text, e.g. `TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf`. The
 * MSI-poll address of a CMD_SYNC (its own queue slot) is printed only with `full`.
 */
export function formatCmd(cmd: Cmd, opts: FormatOptions = {}): string {
  return cmdFormat(SMMU_CODEC, cmd as unknown as CmdLike, opts);
}

/** Parses canonical text into a command (fields in any order, defaults filled). */
export function parseCmd(text: string): Cmd {
  return patternToCmd(SMMU_CODEC, cmdParse(SMMU_CODEC, text)) as unknown as Cmd;
}

/** Parses an expectation line, allowing `_` and `$NAME` field values. */
export function parseCmdPattern(text: string, opts: ParseOptions = { pattern: true }): CmdPattern {
  return cmdParse(SMMU_CODEC, text, opts);
}

/**
 * A command of `op` with every field at its default, then `fields` applied: the model's
 * equivalent of the kernel zeroing a `struct arm_smmu_cmdq_ent` before filling it.
 */
export function makeCmd<K extends CmdOp>(
  op: K,
  fields: Partial<Omit<CmdFor<K>, "op">> = {},
): CmdFor<K> {
  const cmd: Record<string, unknown> = { op };
  for (const [name, f] of Object.entries(SMMU_OPS[op].fields) as [string, FieldSpec][]) {
    cmd[name] = f.def ?? (f.kind === "flag" ? false : f.kind === "addr" ? 0n : 0);
  }
  return Object.assign(cmd, fields) as CmdFor<K>;
}
