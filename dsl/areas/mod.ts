/**
 * Every model area of the DSL, in build order.
 * @module
 */

import type { ExpectExt } from "../expect_ext.ts";
import type { Area } from "./area.ts";
import { DOMAIN_AREA } from "./domain_verbs.ts";
import { IOMMUFD_AREA } from "./iommufd.ts";
import { SMMUV3_AREA } from "./smmuv3.ts";
import { VTD_AREA } from "./vtd.ts";
import { SVA_AREA } from "./sva.ts";
import { PKVM_AREA } from "./pkvm.ts";
import { HW_AREA } from "./hw.ts";

/** All areas. */
export const AREAS: readonly Area[] = [
  DOMAIN_AREA,
  SMMUV3_AREA,
  VTD_AREA,
  IOMMUFD_AREA,
  SVA_AREA,
  PKVM_AREA,
  HW_AREA,
];

/** Every area's expectation keys. */
export const EXPECT_KEYS: Readonly<Record<string, ExpectExt>> = Object.assign(
  {},
  ...AREAS.map((a) => a.expect ?? {}),
);

export type { Area, KindOps } from "./area.ts";
