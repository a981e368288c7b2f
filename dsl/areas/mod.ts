/**
 * Every model area of the DSL, in build order.
 * @module
 */

import type { ExpectExt } from "../expect_ext.ts";
import type { Area } from "./area.ts";
import { SMMUV3_AREA } from "./smmuv3.ts";

/** All areas. */
export const AREAS: readonly Area[] = [SMMUV3_AREA];

/** Every area's expectation keys. */
export const EXPECT_KEYS: Readonly<Record<string, ExpectExt>> = Object.assign(
  {},
  ...AREAS.map((a) => a.expect ?? {}),
);

export type { Area, KindOps } from "./area.ts";
