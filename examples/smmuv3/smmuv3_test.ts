// The SMMUv3 example suite under `deno test`. Every *.inv.yaml of this folder is listed here
// (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import atsBatching from "./ats_batching.inv.yaml" with { type: "text" };
import attachS1Sequence from "./attach_s1_sequence.inv.yaml" with { type: "text" };
import blockTable from "./block_table.inv.yaml" with { type: "text" };
import blockedIdentity from "./blocked_identity.inv.yaml" with { type: "text" };
import captures from "./captures.inv.yaml" with { type: "text" };
import detachTagFlush from "./detach_tag_flush.inv.yaml" with { type: "text" };
import e2h from "./e2h.inv.yaml" with { type: "text" };
import forceSync from "./force_sync.inv.yaml" with { type: "text" };
import invsKunit from "./invs_kunit.inv.yaml" with { type: "text" };
import msipoll from "./msipoll.inv.yaml" with { type: "text" };
import multiSmmu from "./multi_smmu.inv.yaml" with { type: "text" };
import nestingParent from "./nesting_parent.inv.yaml" with { type: "text" };
import nonStrict from "./non_strict.inv.yaml" with { type: "text" };
import pasidAtc from "./pasid_atc.inv.yaml" with { type: "text" };
import pasidLifecycle from "./pasid_lifecycle.inv.yaml" with { type: "text" };
import rangeTlbi from "./range_tlbi.inv.yaml" with { type: "text" };
import reattach from "./reattach.inv.yaml" with { type: "text" };
import tooBig from "./too_big.inv.yaml" with { type: "text" };
import unmapRangeInv from "./unmap_range_inv.inv.yaml" with { type: "text" };
import v9VsMainline from "./v9_vs_mainline.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "ats_batching.inv.yaml": atsBatching,
  "attach_s1_sequence.inv.yaml": attachS1Sequence,
  "block_table.inv.yaml": blockTable,
  "blocked_identity.inv.yaml": blockedIdentity,
  "captures.inv.yaml": captures,
  "detach_tag_flush.inv.yaml": detachTagFlush,
  "e2h.inv.yaml": e2h,
  "force_sync.inv.yaml": forceSync,
  "invs_kunit.inv.yaml": invsKunit,
  "msipoll.inv.yaml": msipoll,
  "multi_smmu.inv.yaml": multiSmmu,
  "nesting_parent.inv.yaml": nestingParent,
  "non_strict.inv.yaml": nonStrict,
  "pasid_atc.inv.yaml": pasidAtc,
  "pasid_lifecycle.inv.yaml": pasidLifecycle,
  "range_tlbi.inv.yaml": rangeTlbi,
  "reattach.inv.yaml": reattach,
  "too_big.inv.yaml": tooBig,
  "unmap_range_inv.inv.yaml": unmapRangeInv,
  "v9_vs_mainline.inv.yaml": v9VsMainline,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/smmuv3/${name}`, src)) Deno.test(t);
}
