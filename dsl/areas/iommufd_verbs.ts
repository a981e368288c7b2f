/**
 * `hwpt_invalidate` and `viommu_invalidate`: one IOMMU_HWPT_INVALIDATE ioctl each (the uAPI
 * takes a nested HWPT or a vIOMMU in the same `hwpt_id`; the two verbs only say which the
 * step means). The request is written as structured entries, or byte for byte through
 * overrides: `data_type` (name or number), `entry_len`, `entry_num`, `uptr` (`null` for
 * NULL), `size`, `reserved`, `tail` (bytes after the 32-byte struct), `data` (raw array
 * bytes), `fault` (where user memory ends), `ioctl` (another ioctl number). The target is an
 * `iommufd:` object's name or a raw ID (0 never exists). Outcome: the return code, `entry_num`
 * as the program reads it back, and every driver op call.
 * @module
 */

import { z } from "zod";
import {
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
} from "../../lib/drivers/selftest/mod.ts";
import { cacheTagFlushRange } from "../../lib/drivers/intel/mod.ts";
import { ERRNOS } from "../../lib/errno.ts";
import {
  hwptInvalidate,
  type InvalidateRequest,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
  IOMMUFD_VARIANTS,
  type IommufdVariant,
} from "../../lib/iommufd/mod.ts";
import { parseU64 } from "../../lib/num.ts";
import { suggest } from "../../lib/suggest.ts";
import { Name, U64, uint } from "../schema.ts";
import { defineVerb } from "../verbs/verb.ts";
import type { StepOutcome, World } from "../world.ts";
import { entriesLayout, EntryDecl, type EntryDeclT, entryOf } from "./iommufd_entries.ts";
import { fdOf, iommufdOf, type OpCallValue, type RawCmdValue } from "./iommufd_expect.ts";
import { vtdDomainOf } from "./vtd_world.ts";

/** `data_type` names: the uAPI's (and the selftest's) without their prefix. */
export const DATA_TYPES: Readonly<Record<string, number>> = {
  vtd_s1: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  arm_smmuv3: IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
  selftest: IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  selftest_invalid: IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
};

const DataType = z.union([z.string(), z.number(), z.bigint()]).transform((v, ctx) => {
  if (typeof v === "string" && Object.hasOwn(DATA_TYPES, v)) return DATA_TYPES[v];
  const n = typeof v === "string" ? parseU64(v) : BigInt(v);
  if (typeof n === "bigint" && n >= 0n && n < 1n << 32n) return Number(n);
  const near = typeof v === "string" ? suggest(v, Object.keys(DATA_TYPES)) : undefined;
  ctx.addIssue({
    code: "custom",
    message: `unknown data type ${JSON.stringify(String(v))}` +
      (near ? ` (did you mean "${near}"?)` : "") +
      `: use ${Object.keys(DATA_TYPES).join(", ")} or a 32-bit number`,
  });
  return z.NEVER;
}).meta({ description: "vtd_s1, arm_smmuv3, selftest, selftest_invalid, or a number" });

/** Bytes: a list of byte values, or hex text (`"ff 00 12"`, spaces and `_` ignored). */
export const Bytes = z.union([z.string(), z.array(z.number())]).transform((v, ctx) => {
  const hex = typeof v === "string" ? v.replace(/[\s_]/g, "") : undefined;
  if (hex !== undefined && /^([0-9a-fA-F]{2})*$/.test(hex)) {
    return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
  }
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Uint8Array.from(v);
  }
  ctx.addIssue({
    code: "custom",
    message: 'expected bytes: [0xff, 0] or hex text such as "ff 00"',
  });
  return z.NEVER;
}).meta({ description: "bytes: a list of byte values or hex text" });

/** Arguments both verbs take besides their target. */
const RequestArgs = {
  entries: z.array(EntryDecl).optional().meta({ description: "the request array, one by one" }),
  data: Bytes.optional().meta({ description: "the request array as raw bytes" }),
  data_type: DataType.optional().meta({ description: "default: the target's data type" }),
  entry_len: uint(32).optional().meta({ description: "default: the entry struct's size" }),
  entry_num: uint(32).optional().meta({ description: "default: the number of entries" }),
  uptr: z.union([z.null(), U64]).optional().meta({
    description: "data_uptr: null for NULL, or an address (default: the array)",
  }),
  size: uint(32).optional().meta({ description: "the struct's size field (default 32 + tail)" }),
  reserved: uint(32).optional().meta({ description: "__reserved (default 0)" }),
  tail: Bytes.optional().meta({ description: "bytes right after the 32-byte struct" }),
  ioctl: uint(32).optional().meta({ description: "ioctl number (default IOMMU_HWPT_INVALIDATE)" }),
  fault: z.strictObject({
    data_at: uint(16).optional().meta({ description: "array bytes readable before a fault" }),
    cmd_at: uint(16).optional().meta({ description: "struct bytes readable before a fault" }),
    cmd_readonly: z.boolean().optional().meta({ description: "copying the result back faults" }),
  }).optional(),
  cmdq_fault: z.strictObject({
    issue: uint(16).meta({ description: "0-based issue of this ioctl that fails" }),
    errno: z.enum(ERRNOS),
  }).optional().meta({ description: "ARM: a command-queue issue fails (e.g. SYNC timeout)" }),
  chunk: uint(16).refine((n) => n >= 1, "a converted op handles at least 1 entry per call")
    .optional().meta({ description: "entries per call of a converted selftest/VT-d op" }),
  op_variant: z.enum(IOMMUFD_VARIANTS).optional().meta({
    description: "form of the driver op when it differs from the core's (iommufd variant)",
  }),
};

const Target = z.union([Name, uint(32)]);

const HwptArgs = z.strictObject({
  hwpt: Target.meta({ description: "a nested HWPT (any iommufd object, or a raw ID)" }),
  ...RequestArgs,
});
const ViommuArgs = z.strictObject({
  viommu: Target.meta({ description: "a vIOMMU (any iommufd object, or a raw ID)" }),
  ...RequestArgs,
});

/** The arguments of either verb, with the target under one name. */
export type InvalidateArgs = z.output<typeof HwptArgs> & { readonly target: string | number };

/** The verbs' arguments with the target key unified. */
export function invalidateArgsOf(verb: string, args: unknown): InvalidateArgs | undefined {
  if (verb === "hwpt_invalidate") {
    const a = args as z.output<typeof HwptArgs>;
    return { ...a, target: a.hwpt };
  }
  if (verb === "viommu_invalidate") {
    const a = args as z.output<typeof ViommuArgs>;
    return { ...a, hwpt: a.viommu, target: a.viommu };
  }
  return undefined;
}

function requestOf(world: World, a: InvalidateArgs): InvalidateRequest {
  const { ids, layouts } = iommufdOf(world);
  const hwptId = typeof a.target === "number" ? a.target : ids[a.target];
  // A raw ID names whichever declared object has it (if any).
  const name = Object.keys(ids).find((n) => ids[n] === hwptId);
  const entries: readonly EntryDeclT[] = a.entries ?? [];
  const layout = entriesLayout(entries, name === undefined ? undefined : layouts[name]);
  if (entries.length && typeof layout !== "string") {
    throw new TypeError("invspec bug: an ambiguous entry layout passed the load checks");
  }
  return {
    hwptId,
    entries: typeof layout === "string" ? entries.map((e) => entryOf(e, layout)) : [],
    data: a.data,
    dataType: a.data_type,
    entryLen: a.entry_len,
    entryNum: a.entry_num,
    dataUptr: a.uptr === null ? 0n : a.uptr,
    reserved: a.reserved,
    size: a.size,
    tail: a.tail,
    ioctl: a.ioctl,
    dataFaultAt: a.fault?.data_at,
    cmdFaultAt: a.fault?.cmd_at,
    readOnlyCmd: a.fault?.cmd_readonly,
  };
}

// The commands this step queued with bits the codec has no field for (vsmmu_raw_bits).
function rawCmdsSince(world: World, mark: number): RawCmdValue[] {
  const out: RawCmdValue[] = [];
  for (const e of world.log.events.slice(mark)) {
    if (e.kind !== "trace" || e.name !== "vsmmu_raw_bits") continue;
    const { op, w0, w1 } = e.data;
    out.push({ op: String(op), w0: BigInt(w0), w1: BigInt(w1) });
  }
  return out;
}

/** Runs one request and reports its outcome. */
export function invalidateApply(world: World, a: InvalidateArgs): StepOutcome {
  const mark = world.log.events.length;
  const r = hwptInvalidate(fdOf(world), requestOf(world, a), {
    variant: world.variants.iommufd as IommufdVariant,
    opVariant: a.op_variant,
    chunk: a.chunk,
    cmdqFault: a.cmdq_fault,
    vtdFlush: (domain, req) => cacheTagFlushRange(vtdDomainOf(world, domain.name), req),
  });
  const opCalls: OpCallValue[] = r.calls.map((c) => ({
    given: c.given,
    handled: c.handled,
    rc: c.rc,
  }));
  return {
    returns: r.rc,
    entryNum: r.entryNum,
    values: { op_calls: opCalls, raw_cmds: rawCmdsSince(world, mark) },
  };
}

/** The two verbs. */
export const IOMMUFD_VERBS = [
  defineVerb({
    name: "hwpt_invalidate",
    doc: "IOMMU_HWPT_INVALIDATE on a nested HWPT: entries, or the request byte by byte",
    schema: HwptArgs,
    apply(world, a) {
      return invalidateApply(world, { ...a, target: a.hwpt });
    },
  }),
  defineVerb({
    name: "viommu_invalidate",
    doc: "IOMMU_HWPT_INVALIDATE on a vIOMMU (TLBs and device caches behind it)",
    schema: ViommuArgs,
    apply(world, a) {
      return invalidateApply(world, { ...a, hwpt: a.viommu, target: a.viommu });
    },
  }),
] as const;
