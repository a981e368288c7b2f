/**
 * The World a scenario runs in: every model instance the spec declared, keyed by the
 * spec's names, plus the one event log they all write to. Plain data, so it can be cloned.
 * @module
 */

import type { EventLog } from "../lib/events.ts";
import type { SmmuDevice } from "../lib/hw/smmuv3/smmu.ts";

/** An IOMMU instance of the spec, by kind. */
export type IommuInst = { readonly kind: "smmuv3"; readonly smmu: SmmuDevice };

/** Everything one scenario run owns. */
export interface World {
  /** The ordered log of commands, WARNs and trace points of every model. */
  readonly log: EventLog;
  /** Variant per family for this run (matrix applied). */
  readonly variants: Readonly<Record<string, string>>;
  /** IOMMUs by spec name. */
  readonly iommus: Record<string, IommuInst>;
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
