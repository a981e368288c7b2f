/**
 * The World a scenario runs in: every model instance the spec declared, keyed by the
 * spec's names, plus the one event log they all write to. Plain data, so it can be cloned.
 * @module
 */

import type { ArmSmmuDriver } from "../lib/drivers/arm-smmu-v3/driver.ts";
import type { DeviceDomainInfo } from "../lib/drivers/intel/device.ts";
import type { DmarDomain } from "../lib/drivers/intel/domain.ts";
import type { VtdIommu } from "../lib/hw/vtd/iommu.ts";
import type { EventLog } from "../lib/events.ts";
import type { SmmuDevice } from "../lib/hw/smmuv3/smmu.ts";
import type { IovaFq } from "../lib/pgtable/flush_queue.ts";
import type { IoPgtable } from "../lib/pgtable/pgtable.ts";
import type { Mm, SvaSystem } from "../lib/sva/mod.ts";
import type { PkvmHyp } from "../lib/tlbi/pkvm.ts";
import type { HwState } from "./areas/hw.ts";
import type { IommufdWorld } from "./areas/iommufd_build.ts";

/** An IOMMU instance of the spec, by kind. */
export type IommuInst =
  | { readonly kind: "smmuv3"; readonly smmu: SmmuDevice }
  | { readonly kind: "vtd"; readonly iommu: VtdIommu };

/** IOMMU kinds with a model. */
export type IommuKind = IommuInst["kind"];

/** A declared device: which IOMMU (and so which driver model) it sits behind. */
export interface DeviceInst {
  readonly name: string;
  readonly iommu: string;
  readonly kind: IommuKind;
}

/** A declared domain, with its page table when it is a paging domain. */
export interface DomainInst {
  readonly name: string;
  readonly kind: IommuKind;
  /** The domain's I/O page table (paging domains). */
  readonly pt: IoPgtable | null;
  /** The DMA flush queue of a non-strict domain. */
  readonly fq: IovaFq | null;
}

/** Everything one scenario run owns. */
export interface World {
  /** The ordered log of commands, WARNs and trace points of every model. */
  readonly log: EventLog;
  /** Variant per family for this run (matrix applied). */
  readonly variants: Readonly<Record<string, string>>;
  /** IOMMUs by spec name. */
  readonly iommus: Record<string, IommuInst>;
  /** Devices by spec name. */
  readonly devices: Record<string, DeviceInst>;
  /** Domains by spec name. */
  readonly domains: Record<string, DomainInst>;
  /** The arm-smmu-v3 driver, when the spec has SMMUv3 IOMMUs. */
  smmuv3?: ArmSmmuDriver;
  /** The open iommufd and its objects by spec name, when the spec has `iommufd:`. */
  iommufd?: IommufdWorld;
  /** The Intel VT-d driver's devices and domains by spec name, when the spec has VT-d units. */
  vtd?: {
    readonly devices: Map<string, DeviceDomainInfo>;
    readonly domains: Map<string, DmarDomain>;
  };
  /** SVA: bound processes, deferred kernel-VA work, and the spec's processes by name. */
  sva?: { readonly sys: SvaSystem; readonly mms: Map<string, Mm> };
  /** The pKVM hypervisor profile, when the spec has `pkvm:`. */
  pkvm?: PkvmHyp;
  /** What devices and SMMUs cache (ATS functions, memory views), for the stale check. */
  hw?: HwState;
}

/** What a step returned besides its events: values the spec can expect. */
export interface StepOutcome {
  /** Return code of the operation: 0 or an errno name. */
  returns?: 0 | string;
  /** entry_num written back by an invalidation ioctl. */
  entryNum?: number;
  /** Other named results (e.g. a DMA translation). */
  values?: Record<string, unknown>;
}

/** Turns a model's `0 | { errno }` into a step outcome. */
export function outcomeOf(r: 0 | { readonly errno: string }): StepOutcome {
  return r === 0 ? {} : { returns: r.errno };
}
