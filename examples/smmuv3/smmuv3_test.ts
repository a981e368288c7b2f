// The SMMUv3 example suite under `deno test`. Every *.inv.yaml of this folder is listed here
// (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import rangeTlbi from "./range_tlbi.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "range_tlbi.inv.yaml": rangeTlbi,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/smmuv3/${name}`, src)) Deno.test(t);
}
