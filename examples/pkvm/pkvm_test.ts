// The pKVM example suite under `deno test`. Every *.inv.yaml of this folder is listed here
// (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import granule16k from "./granule_16k.inv.yaml" with { type: "text" };
import leafTtl from "./leaf_ttl.inv.yaml" with { type: "text" };
import mapUnmap from "./map_unmap.inv.yaml" with { type: "text" };
import sameAsDriver from "./same_as_driver.inv.yaml" with { type: "text" };
import tablesRemoved from "./tables_removed.inv.yaml" with { type: "text" };
import tooBig from "./too_big.inv.yaml" with { type: "text" };
import twoSmmus from "./two_smmus.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "granule_16k.inv.yaml": granule16k,
  "leaf_ttl.inv.yaml": leafTtl,
  "map_unmap.inv.yaml": mapUnmap,
  "same_as_driver.inv.yaml": sameAsDriver,
  "tables_removed.inv.yaml": tablesRemoved,
  "too_big.inv.yaml": tooBig,
  "two_smmus.inv.yaml": twoSmmus,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/pkvm/${name}`, src)) Deno.test(t);
}
