/**
 * The Intel VT-d area: `kind: vtd` remapping units with their capability bits, endpoints
 * with requester ids and ATS facts, second- and first-stage paging, nested and SVA
 * domains; the generic verbs through the Intel driver model (`vtd_ops.ts`), the VT-d
 * verbs (`flush_range`, `flush_range_np`, `sva_notify`), and the `cache_tags` and `trace`
 * expectations. Descriptors are matched on the unit's queue with the VT-d codec
 * (`IOTLB_INV gran=psi did=5 am=2 ih dr dw`, `INV_WAIT`, ...). The `intel` variant family
 * picks the upstream version (CT-4 default, CT-3, CT-2, CT-1, pre-tags).
 * @module
 */

import type { Area } from "./area.ts";
import { buildVtd } from "./vtd_build.ts";
import { checkVtdDecls, checkVtdSteps } from "./vtd_check.ts";
import { CACHE_TAGS_EXPECT } from "./vtd_tags.ts";
import { TRACE_EXPECT } from "./vtd_trace.ts";

/** The VT-d area. */
export const VTD_AREA: Area = {
  name: "vtd",
  check(spec, diags) {
    checkVtdDecls(spec, diags);
    checkVtdSteps(spec, diags);
  },
  build(world, spec, cell) {
    buildVtd(world, spec, cell);
  },
  expect: { cache_tags: CACHE_TAGS_EXPECT, trace: TRACE_EXPECT },
};

export { VTD_KIND_OPS } from "./vtd_ops.ts";
export { VTD_VERBS } from "./vtd_verbs.ts";
