/**
 * Reporters by name. Each turns a run into text; none prints or knows the others.
 * @module
 */

import { dot } from "./dot.ts";
import { json } from "./json.ts";
import { junit } from "./junit.ts";
import { ktap } from "./ktap.ts";
import { pretty, type ReporterOptions } from "./pretty.ts";
import { tap } from "./tap.ts";
import type { RunReport } from "../report.ts";

/** A reporter: a run → text. */
export type Reporter = (r: RunReport, opts?: ReporterOptions) => string;

/** All reporters, by the name `--reporter` takes. */
export const REPORTERS = { pretty, dot, tap, ktap, junit, json } as const satisfies Record<
  string,
  Reporter
>;

/** A reporter name. */
export type ReporterName = keyof typeof REPORTERS;

export type { ReporterOptions } from "./pretty.ts";
