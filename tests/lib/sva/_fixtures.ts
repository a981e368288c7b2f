// Shared builders for the SVA tests: a system with SMMUv3 and VT-d devices that can be
// bound, and the commands it emitted as canonical text (queue: command).
import assert from "node:assert/strict";
import { type EventLog, eventLogCreate } from "../../../lib/events.ts";
import { formatCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import type { Cmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate, type SmmuCreateOptions } from "../../../lib/hw/smmuv3/smmu.ts";
import {
  armSmmuDeviceAdd,
  armSmmuDriverCreate,
  isErr,
  masterProbe,
} from "../../../lib/drivers/arm-smmu-v3/mod.ts";
import { intelIommuProbeDevice } from "../../../lib/drivers/intel/mod.ts";
import { type Desc, formatDesc, type VtdIommu, vtdIommuCreate } from "../../../lib/hw/vtd/mod.ts";
import {
  type Mm,
  mmCreate,
  type SvaDev,
  type SvaSystem,
  svaSystemCreate,
  type SvaSystemOptions,
} from "../../../lib/sva/mod.ts";

/** A test system: its log, its SVA state, and bindable devices by name. */
export interface SvaWorld {
  readonly log: EventLog;
  readonly sys: SvaSystem;
  readonly devs: Record<string, SvaDev>;
  readonly units: Record<string, VtdIommu>;
}

/** Declares SMMUs with masters, and VT-d units with devices. */
export interface SvaWorldSpec {
  readonly smmus?: Record<string, SmmuCreateOptions>;
  /** name → [smmu, sid, ats, pasid bits] */
  readonly masters?: Record<string, readonly [string, number, boolean, number?]>;
  readonly vtd?: readonly string[];
  /** name → [unit, rid, ats, pasid] */
  readonly vtdDevs?: Record<string, readonly [string, number, boolean, boolean?]>;
  readonly sys?: SvaSystemOptions;
}

const SMMU_SVA: SmmuCreateOptions = { features: ["range_inv", "ats", "sva"], ssidBits: 20 };

function addSmmus(log: EventLog, spec: SvaWorldSpec, devs: Record<string, SvaDev>) {
  const drv = armSmmuDriverCreate(log);
  const smmus: Record<string, ReturnType<typeof smmuCreate>> = {};
  let sortKey = 0;
  for (const [name, o] of Object.entries(spec.smmus ?? {})) {
    smmus[name] = smmuCreate(name, log, { ...SMMU_SVA, sortKey: sortKey++, ...o });
    armSmmuDeviceAdd(drv, smmus[name]);
  }
  for (const [name, [smmu, sid, ats, bits]] of Object.entries(spec.masters ?? {})) {
    const m = masterProbe(drv, { name, smmu: smmus[smmu], sids: [sid], ats, pasidBits: bits ?? 4 });
    assert.ok(!isErr(m));
    devs[name] = { kind: "smmuv3", name, master: m };
  }
  return drv;
}

/** Builds a system (x86-64 with VT-d units, arm64 otherwise, unless `sys.arch` says). */
export function svaWorld(spec: SvaWorldSpec): SvaWorld {
  const log = eventLogCreate();
  const devs: Record<string, SvaDev> = {};
  const drv = addSmmus(log, spec, devs);
  const units: Record<string, VtdIommu> = {};
  (spec.vtd ?? []).forEach((n, i) => (units[n] = vtdIommuCreate(n, log, { seqId: i })));
  for (const [name, [unit, sid, ats, pasid]] of Object.entries(spec.vtdDevs ?? {})) {
    const dev = intelIommuProbeDevice(units[unit], { name, sid, ats, pasid: pasid ?? true });
    devs[name] = { kind: "vtd", name, dev };
  }
  const arch = spec.vtd?.length ? "x86_64" : "arm64";
  const sys = svaSystemCreate(log, { arch, smmu: drv, ...spec.sys });
  return { log, sys, devs, units };
}

let nextPgd = 0x7_0000_0000n;

/** A new process. */
export function proc(name: string): Mm {
  nextPgd += 0x1000n;
  return mmCreate(name, { pgd: nextPgd });
}

/** Commands recorded since the last call, as `queue: text`, and clears the log. */
export function take(w: SvaWorld): string[] {
  const out = w.log.events.flatMap((e) => {
    if (e.kind !== "cmd") return [];
    const text = e.family === "vtd" ? formatDesc(e.cmd as Desc) : formatCmd(e.cmd as Cmd);
    return [`${e.queue}: ${text}`];
  });
  w.log.events.length = 0;
  return out;
}

/** Names of the trace events recorded so far (not cleared). */
export function traces(w: SvaWorld): string[] {
  return w.log.events.flatMap((e) => e.kind === "trace" ? [e.name] : []);
}

/** WARNs recorded so far. */
export function warns(w: SvaWorld): string[] {
  return w.log.events.flatMap((e) => e.kind === "warn" ? [`${e.fn}: ${e.what}`] : []);
}
