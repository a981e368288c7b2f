// Shared builders for the arm-smmu-v3 driver tests: a World with named SMMUs, masters and
// domains, and the commands it emitted as canonical text.
import assert from "node:assert/strict";
import { type EventLog, eventLogCreate } from "../../../../lib/events.ts";
import { type Cmd, formatCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import {
  smmuCreate,
  type SmmuCreateOptions,
  type SmmuDevice,
} from "../../../../lib/hw/smmuv3/smmu.ts";
import {
  armSmmuDeviceAdd,
  type ArmSmmuDriver,
  armSmmuDriverCreate,
  type ArmSmmuInstanceOptions,
  type ArmSmmuMaster,
  type ArmSmmuVariant,
  domainAllocPaging,
  domainAllocSva,
  isErr,
  masterProbe,
  type MasterProbeOptions,
  type PagingDomainOptions,
  type SmmuDomain,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";

/** A test World: one log, one driver, SMMUs by name. */
export interface TestWorld {
  readonly log: EventLog;
  readonly drv: ArmSmmuDriver;
  readonly smmu: Record<string, SmmuDevice>;
}

/** A World with the given SMMUs (default: one "smmu0" with RIL and ATS). */
export function world(opts: {
  readonly variant?: ArmSmmuVariant;
  readonly budget?: number;
  readonly smmus?: Record<string, SmmuCreateOptions & ArmSmmuInstanceOptions>;
} = {}): TestWorld {
  const log = eventLogCreate(opts.budget);
  const drv = armSmmuDriverCreate(log, { variant: opts.variant });
  const smmu: Record<string, SmmuDevice> = {};
  const specs = opts.smmus ?? { smmu0: { features: ["range_inv", "ats"] } };
  for (const [name, spec] of Object.entries(specs)) {
    smmu[name] = smmuCreate(name, log, spec);
    armSmmuDeviceAdd(drv, smmu[name], spec);
  }
  return { log, drv, smmu };
}

/** Probes a master on SMMU `smmu` (default the first). */
export function probe(
  w: TestWorld,
  opts: Omit<MasterProbeOptions, "smmu"> & { readonly smmu?: string },
): ArmSmmuMaster {
  const smmu = w.smmu[opts.smmu ?? Object.keys(w.smmu)[0]];
  const m = masterProbe(w.drv, { ...opts, smmu });
  assert.ok(!isErr(m), `probe ${opts.name}`);
  return m;
}

/** Allocates a paging domain. */
export function paging(w: TestWorld, opts: PagingDomainOptions): SmmuDomain {
  const d = domainAllocPaging(w.drv, opts);
  assert.ok(!isErr(d), `alloc ${opts.name}`);
  return d;
}

/** Allocates an SVA domain. */
export function sva(
  w: TestWorld,
  opts: { readonly name: string; readonly id?: number },
): SmmuDomain {
  const d = domainAllocSva(w.drv, opts);
  assert.ok(!isErr(d), `alloc ${opts.name}`);
  return d;
}

/** The commands logged since event index `from`, as canonical text (queue-prefixed if asked). */
export function cmds(log: EventLog, from = 0, opts: { readonly queue?: boolean } = {}): string[] {
  return log.events.slice(from).flatMap((e) => {
    if (e.kind !== "cmd") return [];
    const text = formatCmd(e.cmd as unknown as Cmd);
    return [opts.queue ? `${e.queue}: ${text}` : text];
  });
}

/** The WARNs and hangs logged since `from`, as `fn: what`. */
export function problems(log: EventLog, from = 0): string[] {
  return log.events.slice(from).flatMap((e) =>
    e.kind === "warn" ? [`${e.fn}: ${e.what}`] : e.kind === "hang" ? [`hang ${e.fn}`] : []
  );
}

/** The array of `d` as (type, id, ssid, users) rows, trash included. */
export function rows(d: SmmuDomain): [string, number, number, number][] {
  return d.invs.inv.slice(0, d.invs.numInvs).map((e) => [e.type, e.id, e.ssid, e.users]);
}

const hexSid = (sid: number) => `0x${sid.toString(16)}`;

/** An STE write per StreamID: `syncs` × (leaf CFGI_STE + SYNC), then PREFETCH_CFG. */
export function steWrites(sids: readonly number[], syncs: number): string[] {
  return sids.flatMap((sid) => [
    ...Array(syncs).fill([`CFGI_STE sid=${hexSid(sid)} leaf`, "CMD_SYNC"]).flat(),
    `PREFETCH_CFG sid=${hexSid(sid)}`,
  ]);
}

/** A CD write of `ssid`: `syncs` × (CFGI_CD per StreamID + SYNC). */
export function cdWrites(
  sids: readonly number[],
  opts: { readonly ssid?: number; readonly syncs: number; readonly leaf?: boolean },
): string[] {
  const ssid = opts.ssid ? ` ssid=${opts.ssid}` : "";
  const leaf = opts.leaf ?? true ? " leaf" : "";
  const one = [...sids.map((sid) => `CFGI_CD sid=${hexSid(sid)}${ssid}${leaf}`), "CMD_SYNC"];
  return Array(opts.syncs).fill(one).flat();
}

/** A full ATC_INV per StreamID (with SSV when `ssid`), then SYNC. */
export function atcFull(sids: readonly number[], ssid = 0): string[] {
  const pasid = ssid ? ` ssv ssid=${ssid}` : "";
  return [...sids.map((sid) => `ATC_INV sid=${hexSid(sid)}${pasid} size=52`), "CMD_SYNC"];
}
