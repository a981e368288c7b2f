/**
 * Small worlds for the VT-d driver tests: units, probed devices and domains on one event
 * log, and readers that turn the log into `queue: descriptor` lines and trace records.
 * @module
 */

import { type Event, type EventLog, eventLogCreate } from "../../../../lib/events.ts";
import { type Desc, formatDesc } from "../../../../lib/hw/vtd/desc.ts";
import {
  VTD_DEFAULT_CAPS,
  type VtdCap,
  type VtdIommu,
  vtdIommuCreate,
} from "../../../../lib/hw/vtd/iommu.ts";
import {
  type DeviceDomainInfo,
  intelIommuProbeDevice,
  type ProbeDeviceOptions,
} from "../../../../lib/drivers/intel/device.ts";
import {
  type DmarDomain,
  domainAlloc,
  type DomainAllocOptions,
} from "../../../../lib/drivers/intel/domain.ts";

/** Unit options: `caps` replaces the default set, `extra` adds to it. */
export interface IommuOptions {
  readonly caps?: readonly VtdCap[];
  readonly extra?: readonly VtdCap[];
  readonly mamv?: number;
  readonly ndoms?: number;
}

/** A test world: one log and helpers that create objects on it. */
export interface TestWorld {
  readonly log: EventLog;
  iommu(name: string, opts?: IommuOptions): VtdIommu;
  dev(iommu: VtdIommu, opts: ProbeDeviceOptions): DeviceDomainInfo;
  domain(name: string, opts?: DomainAllocOptions): DmarDomain;
}

/** A fresh world. */
export function world(): TestWorld {
  const log = eventLogCreate();
  let seq = 0;
  return {
    log,
    iommu(name, opts = {}) {
      const caps = [...(opts.caps ?? VTD_DEFAULT_CAPS), ...(opts.extra ?? [])];
      return vtdIommuCreate(name, log, {
        caps,
        mamv: opts.mamv,
        ndoms: opts.ndoms,
        seqId: seq++,
        statusBase: 0x1000n,
      });
    },
    dev: (iommu, opts) => intelIommuProbeDevice(iommu, opts),
    domain: (name, opts = {}) => domainAlloc(name, log, opts),
  };
}

/** Every queue entry as `queue: text`, waits included. */
export function cmds(events: readonly Event[]): string[] {
  return events.flatMap((e) =>
    e.kind === "cmd" ? [`${e.queue}: ${formatDesc(e.cmd as unknown as Desc)}`] : []
  );
}

/** Trace events named `name`, as their data records. */
export function traces(events: readonly Event[], name: string): Record<string, unknown>[] {
  return events.flatMap((e) => e.kind === "trace" && e.name === name ? [{ ...e.data }] : []);
}

/** Runs `fn` and returns the events it added. */
export function during(log: EventLog, fn: () => unknown): Event[] {
  const n = log.events.length;
  fn();
  return log.events.slice(n);
}
