// The stale-translation check's example suite under `deno test`. Every *.inv.yaml of this
// folder is listed here (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import detachNoTagFlush from "./detach_no_tag_flush.inv.yaml" with { type: "text" };
import freedTable from "./freed_table.inv.yaml" with { type: "text" };
import guestBatchOrder from "./guest_batch_order.inv.yaml" with { type: "text" };
import nonStrictWindow from "./non_strict_window.inv.yaml" with { type: "text" };
import unmapNoTlbi from "./unmap_no_tlbi.inv.yaml" with { type: "text" };
import v9PasidCollapse from "./v9_pasid_collapse.inv.yaml" with { type: "text" };
import vtdCmTeardown from "./vtd_cm_teardown.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "detach_no_tag_flush.inv.yaml": detachNoTagFlush,
  "freed_table.inv.yaml": freedTable,
  "guest_batch_order.inv.yaml": guestBatchOrder,
  "non_strict_window.inv.yaml": nonStrictWindow,
  "unmap_no_tlbi.inv.yaml": unmapNoTlbi,
  "v9_pasid_collapse.inv.yaml": v9PasidCollapse,
  "vtd_cm_teardown.inv.yaml": vtdCmTeardown,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/oracle/${name}`, src)) Deno.test(t);
}
