// The SVA example suite under `deno test`. Every *.inv.yaml of this folder is listed here
// (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import bindShare from "./bind_share.inv.yaml" with { type: "text" };
import kvaDeferred from "./kva_deferred.inv.yaml" with { type: "text" };
import kvaNotPresent from "./kva_not_present.inv.yaml" with { type: "text" };
import kvaTwoProcesses from "./kva_two_processes.inv.yaml" with { type: "text" };
import kvaVariants from "./kva_variants.inv.yaml" with { type: "text" };
import mmReleaseSmmuv3 from "./mm_release_smmuv3.inv.yaml" with { type: "text" };
import mmReleaseVtd from "./mm_release_vtd.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "bind_share.inv.yaml": bindShare,
  "kva_deferred.inv.yaml": kvaDeferred,
  "kva_not_present.inv.yaml": kvaNotPresent,
  "kva_two_processes.inv.yaml": kvaTwoProcesses,
  "kva_variants.inv.yaml": kvaVariants,
  "mm_release_smmuv3.inv.yaml": mmReleaseSmmuv3,
  "mm_release_vtd.inv.yaml": mmReleaseVtd,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/sva/${name}`, src)) Deno.test(t);
}
