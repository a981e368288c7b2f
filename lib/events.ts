/**
 * What the models report while they run: commands placed on a queue, kernel WARNs and
 * trace points, in one ordered log per World. The runner slices it per step.
 * @module
 */

import type { CmdLike } from "./hw/codec.ts";

/** Command families, one per queue kind. */
export type Family = "smmuv3" | "vtd";

/** A value a trace event can carry. */
export type TraceValue = string | number | bigint | boolean;

/** One thing that happened. */
export type Event =
  /** A command written to the queue of IOMMU `queue`. */
  | { readonly kind: "cmd"; readonly queue: string; readonly family: Family; readonly cmd: CmdLike }
  /** A kernel WARN (WARN_ON, WARN_ON_ONCE, dev_warn on a driver-contract violation). */
  | { readonly kind: "warn"; readonly fn: string; readonly what: string }
  /** A model that would not terminate, stopped by the World's step budget. */
  | { readonly kind: "hang"; readonly fn: string; readonly iterations: number }
  /** A trace point: array publishes, STE writes, VT-d trace events, deferred work, ... */
  | {
    readonly kind: "trace";
    readonly name: string;
    readonly data: Readonly<Record<string, TraceValue>>;
  };

/** The ordered event log shared by every model of one World. */
export interface EventLog {
  /** Everything recorded so far, in order. */
  readonly events: Event[];
  /** Loop iterations a model may run before it is declared hung ("did not finish"). */
  readonly budget: number;
}

/** Default step budget: far above any terminating loop of the models. */
export const DEFAULT_BUDGET = 1_000_000;

/** A new empty log. */
export function eventLogCreate(budget: number = DEFAULT_BUDGET): EventLog {
  return { events: [], budget };
}

/** Records that `fn` was stopped after `iterations` loop iterations. */
export function hang(log: EventLog, fn: string, iterations: number): void {
  log.events.push({ kind: "hang", fn, iterations });
}

/** Records a kernel WARN. */
export function warn(log: EventLog, fn: string, what: string): void {
  log.events.push({ kind: "warn", fn, what });
}

/** Records a trace point. */
export function trace(log: EventLog, name: string, data: Record<string, TraceValue> = {}): void {
  log.events.push({ kind: "trace", name, data });
}
