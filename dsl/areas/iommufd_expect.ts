/**
 * Expectation keys of the iommufd area:
 * - `iotlb: { <nested HWPT>: [s0, s1, s2, s3] }`: the selftest mock IOTLB slots (what
 *   IOMMU_TEST_OP_MD_CHECK_IOTLB reads);
 * - `dev_cache: { <device>: [s0, s1, s2, s3] }`: a selftest mock device's cache slots (what
 *   IOMMU_TEST_OP_DEV_CHECK_CACHE reads);
 *   a slot is a number, `0` once invalidated, or `D` / `default` for the value the selftest
 *   starts it at (0xbadbeef, 0xbaddad); one value instead of a list stands for all four;
 * - `op_calls`: how many times the driver op ran, or one line per call
 *   `given=N handled=N [rc=ERRNO]`;
 * - `raw_cmds`: commands that reached an SMMU queue with bits no command field describes
 *   (a guest's RES0 bits the pre-series vSMMU forwards), as `OP w0=0x.. w1=0x..` lines.
 * @module
 */

import {
  IOMMU_TEST_DEV_CACHE_DEFAULT,
  IOMMU_TEST_IOTLB_DEFAULT,
} from "../../lib/drivers/selftest/mod.ts";
import { deviceMockCache, hwptMockIotlb, type Iommufd, isErrno } from "../../lib/iommufd/mod.ts";
import { parseU64 } from "../../lib/num.ts";
import { type ExpectCtx, specError } from "../expect.ts";
import type { ExpectExt, Mismatch } from "../expect_ext.ts";
import type { SpecPath } from "../types.ts";
import type { StepOutcome, World } from "../world.ts";
import type { IommufdWorld } from "./iommufd_build.ts";

/** One expected cache: whose, its slots, where. */
export interface CacheLine {
  readonly name: string;
  readonly slots: readonly number[];
  readonly path: SpecPath;
}

/** One driver op call as the verbs report it in `values.op_calls`. */
export interface OpCallValue {
  readonly given: number;
  readonly handled: number;
  readonly rc: 0 | string;
}

/** One queued command with bits outside its fields, from `values.raw_cmds`. */
export interface RawCmdValue {
  readonly op: string;
  readonly w0: bigint;
  readonly w1: bigint;
}

const SLOTS = 4;

/** The World's iommufd part; a `TypeError` (invspec bug) when the spec declared none. */
export function iommufdOf(world: World): IommufdWorld {
  if (!world.iommufd) throw new TypeError("invspec bug: no iommufd in this World");
  return world.iommufd;
}

/** The World's open iommufd. */
export function fdOf(world: World): Iommufd {
  return iommufdOf(world).fd;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function slotOf(v: unknown, dflt: number): number | undefined {
  if (v === "D" || v === "default") return dflt;
  const n = typeof v === "number" ? BigInt(v) : typeof v === "string" ? parseU64(v) : undefined;
  return typeof n === "bigint" && n < 1n << 32n ? Number(n) : undefined;
}

function parseCaches(
  what: string,
  dflt: number,
): (raw: unknown, path: SpecPath, ctx: ExpectCtx) => CacheLine[] | undefined {
  return (raw, path, ctx) => {
    if (!isMap(raw)) {
      specError(ctx, path, `Cannot read ${what}: expected { <name>: [slot 0, 1, 2, 3] }`);
      return;
    }
    const out: CacheLine[] = [];
    for (const [name, v] of Object.entries(raw)) {
      const list = Array.isArray(v) ? v : new Array(SLOTS).fill(v);
      const slots = list.map((x) => slotOf(x, dflt));
      if (list.length !== SLOTS || slots.some((s) => s === undefined)) {
        specError(ctx, [...path, name], `Cannot read ${what}.${name}: expected ${SLOTS} slots`, {
          label: "each a 32-bit number, 0 (invalidated) or D (the selftest default)",
        });
        continue;
      }
      out.push({ name, slots: slots as number[], path: [...path, name] });
    }
    return out.length === Object.keys(raw).length ? out : undefined;
  };
}

/** A slot as specs write it. */
export function slotText(v: number, dflt: number): string {
  return v === dflt ? "D" : v < 10 ? String(v) : `0x${v.toString(16)}`;
}

function checkCaches(
  what: string,
  dflt: number,
  read: (world: World, id: number) => readonly number[],
): (world: World, parsed: unknown) => Mismatch[] {
  return (world, parsed) => {
    const out: Mismatch[] = [];
    for (const line of parsed as CacheLine[]) {
      const id = world.iommufd?.ids[line.name];
      if (id === undefined) throw new TypeError(`invspec bug: no iommufd object ${line.name}`);
      const actual = read(world, id);
      if (actual.every((v, i) => v === line.slots[i])) continue;
      const show = (xs: readonly number[]) => `[${xs.map((x) => slotText(x, dflt)).join(", ")}]`;
      out.push({
        path: line.path,
        title: `${what} of ${line.name} is ${show(actual)}, expected ${show(line.slots)}`,
      });
    }
    return out;
  };
}

/** `iotlb:` */
export const IOTLB_EXPECT: ExpectExt = {
  doc: "selftest nested HWPT IOTLB slots: { <hwpt>: [0, D, D, D] } (D: 0xbadbeef)",
  parse: parseCaches("iotlb", IOMMU_TEST_IOTLB_DEFAULT),
  check: checkCaches("iotlb", IOMMU_TEST_IOTLB_DEFAULT, (w, id) => hwptMockIotlb(fdOf(w), id)),
};

/** `dev_cache:` */
export const DEV_CACHE_EXPECT: ExpectExt = {
  doc: "selftest mock device cache slots: { <device>: [0, D, D, D] } (D: 0xbaddad)",
  parse: parseCaches("dev_cache", IOMMU_TEST_DEV_CACHE_DEFAULT),
  check: checkCaches(
    "dev_cache",
    IOMMU_TEST_DEV_CACHE_DEFAULT,
    (w, id) => deviceMockCache(fdOf(w), id),
  ),
};

/** The canonical line of an op call. */
export function opCallText(c: OpCallValue): string {
  return `given=${c.given} handled=${c.handled}` + (c.rc === 0 ? "" : ` rc=${c.rc}`);
}

function parseOpCall(text: string): OpCallValue | string {
  const c: { given?: number; handled?: number; rc: 0 | string } = { rc: 0 };
  for (const tok of text.trim().split(/\s+/)) {
    const [k, v = ""] = tok.split("=");
    if (k === "rc") {
      if (v !== "0" && !isErrno(v)) return `rc: "${v}" is not 0 or an errno name`;
      c.rc = v === "0" ? 0 : v;
    } else if (k === "given" || k === "handled") {
      const n = parseU64(v);
      if (typeof n === "string") return `${k}: ${n}`;
      c[k] = Number(n);
    } else return `unknown field "${k}"; a call is given=N handled=N [rc=ERRNO]`;
  }
  if (c.given === undefined || c.handled === undefined) return "a call needs given= and handled=";
  return { given: c.given, handled: c.handled, rc: c.rc };
}

// Reads a list of one-line values, reporting each bad line at its own position.
function parseLines<T>(
  raw: readonly string[],
  path: SpecPath,
  ctx: ExpectCtx,
  opts: { readonly what: string; readonly parse: (text: string) => T | string },
): T[] | undefined {
  const out: T[] = [];
  raw.forEach((text, i) => {
    const r = opts.parse(text);
    if (typeof r !== "string") {
      out.push(r);
      return;
    }
    const [title, label] = r.split("; ");
    specError(ctx, [...path, i], `Cannot read ${opts.what}: ${title}`, { label });
  });
  return out.length === raw.length ? out : undefined;
}

// One mismatch at the first differing line when two line lists differ.
function linesDiffer(
  want: readonly string[],
  actual: readonly string[],
  opts: { readonly path: SpecPath; readonly title: string; readonly detail: readonly string[] },
): Mismatch[] {
  if (want.join("\n") === actual.join("\n")) return [];
  const i = want.findIndex((x, j) => x !== actual[j]);
  return [{
    path: i < 0 ? opts.path : [...opts.path, i],
    title: `${opts.title} (expected ${want.length}, got ${actual.length})`,
    detail: opts.detail,
  }];
}

interface OpCallsWant {
  readonly count?: number;
  readonly calls?: readonly OpCallValue[];
  readonly path: SpecPath;
}

/** `op_calls:` */
export const OP_CALLS_EXPECT: ExpectExt = {
  doc: "driver op calls: a count, or lines `given=N handled=N [rc=ERRNO]`",
  parse(raw, path, ctx): OpCallsWant | undefined {
    if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return { count: raw, path };
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === "string")) {
      specError(ctx, path, "Cannot read op_calls: expected a count or a list of call lines");
      return;
    }
    const calls = parseLines(raw, path, ctx, { what: "op call", parse: parseOpCall });
    return calls && { calls, path };
  },
  check(_world, parsed, outcome: StepOutcome) {
    const want = parsed as OpCallsWant;
    const actual = ((outcome.values?.op_calls ?? []) as readonly OpCallValue[]).map(opCallText);
    const detail = ["calls:", ...actual.map((x) => `  ${x}`)];
    if (want.count !== undefined) {
      if (want.count === actual.length) return [];
      const title = `the driver op ran ${actual.length} times, expected ${want.count}`;
      return [{ path: want.path, title, detail }];
    }
    return linesDiffer((want.calls ?? []).map(opCallText), actual, {
      path: want.path,
      title: "the driver op calls differ",
      detail,
    });
  },
};

/** The canonical line of a raw queued command. */
export function rawCmdText(c: RawCmdValue): string {
  return `${c.op} w0=0x${c.w0.toString(16)} w1=0x${c.w1.toString(16)}`;
}

function parseRawCmd(text: string): RawCmdValue | string {
  const [op, ...rest] = text.trim().split(/\s+/);
  const w: Record<string, bigint> = {};
  for (const tok of rest) {
    const [k, v = ""] = tok.split("=");
    if (k !== "w0" && k !== "w1") return `unknown field "${k}"; a raw command is OP w0=.. w1=..`;
    const n = parseU64(v);
    if (typeof n === "string") return `${k}: ${n}`;
    w[k] = n;
  }
  if (!op || w.w0 === undefined || w.w1 === undefined) return "a raw command is OP w0=.. w1=..";
  return { op, w0: w.w0, w1: w.w1 };
}

/** `raw_cmds:` */
export const RAW_CMDS_EXPECT: ExpectExt = {
  doc: "commands queued with bits outside their fields: lines `OP w0=0x.. w1=0x..`",
  parse(raw, path, ctx) {
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === "string")) {
      specError(ctx, path, "Cannot read raw_cmds: expected a list of `OP w0=.. w1=..` lines");
      return;
    }
    const cmds = parseLines(raw, path, ctx, { what: "raw command", parse: parseRawCmd });
    return cmds && { cmds, path };
  },
  check(_world, parsed, outcome: StepOutcome) {
    const want = parsed as { cmds: readonly RawCmdValue[]; path: SpecPath };
    const actual = ((outcome.values?.raw_cmds ?? []) as readonly RawCmdValue[]).map(rawCmdText);
    return linesDiffer(want.cmds.map(rawCmdText), actual, {
      path: want.path,
      title: "other raw commands reached the queue",
      detail: ["queued:", ...actual.map((x) => `  ${x}`)],
    });
  },
};

/** Every expectation key of the area. */
export const IOMMUFD_EXPECT: Readonly<Record<string, ExpectExt>> = {
  iotlb: IOTLB_EXPECT,
  dev_cache: DEV_CACHE_EXPECT,
  op_calls: OP_CALLS_EXPECT,
  raw_cmds: RAW_CMDS_EXPECT,
};
