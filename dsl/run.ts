/**
 * Runs a scenario's steps on its World and slices the event log per step. Never prints,
 * never reads files: the output is data.
 * @module
 */

import type { Event } from "../lib/events.ts";
import type { LoadedStep } from "./load.ts";
import { verbOf } from "./verbs/mod.ts";
import type { StepOutcome, World } from "./world.ts";

/** What one step did. */
export interface StepRun {
  readonly step: LoadedStep;
  /** Everything the models recorded during the step, in order. */
  readonly events: readonly Event[];
  readonly outcome: StepOutcome;
  /** An exception escaping a model: always an invspec bug. */
  readonly crash?: Error;
}

/**
 * Applies one step. Exceptions from the models are caught and returned as `crash`: the
 * caller reports them as internal errors and stops the scenario.
 */
export function runStep(world: World, step: LoadedStep): StepRun {
  const mark = world.log.events.length;
  const verb = verbOf(step.verb);
  if (!verb) throw new Error(`invspec bug: verb ${step.verb} vanished after loading`);
  try {
    const outcome = verb.apply(world, step.args);
    return { step, events: world.log.events.slice(mark), outcome };
  } catch (e) {
    const crash = e instanceof Error ? e : new Error(String(e));
    return { step, events: world.log.events.slice(mark), outcome: {}, crash };
  }
}
