// The Intel VT-d example suite under `deno test`. Every *.inv.yaml of this folder is listed
// here (tests/examples_test.ts fails otherwise).
import { specTests } from "../../dsl/testing.ts";
import batching from "./batching.inv.yaml" with { type: "text" };
import cachingMode from "./caching_mode.inv.yaml" with { type: "text" };
import devtlbPasid from "./devtlb_pasid.inv.yaml" with { type: "text" };
import dmaLegacy from "./dma_legacy.inv.yaml" with { type: "text" };
import dmaPasidFirstStage from "./dma_pasid_first_stage.inv.yaml" with { type: "text" };
import dmaSecondStage from "./dma_second_stage.inv.yaml" with { type: "text" };
import dsiFallback from "./dsi_fallback.inv.yaml" with { type: "text" };
import firstVsSecondStage from "./first_vs_second_stage.inv.yaml" with { type: "text" };
import lazyUnmap from "./lazy_unmap.inv.yaml" with { type: "text" };
import legacyMode from "./legacy_mode.inv.yaml" with { type: "text" };
import nestedParent from "./nested_parent.inv.yaml" with { type: "text" };
import psiAlignment from "./psi_alignment.inv.yaml" with { type: "text" };
import registerFlush from "./register_flush.inv.yaml" with { type: "text" };
import svaDedup from "./sva_dedup.inv.yaml" with { type: "text" };
import tagOrder from "./tag_order.inv.yaml" with { type: "text" };
import unmapHint from "./unmap_hint.inv.yaml" with { type: "text" };
import versions from "./versions.inv.yaml" with { type: "text" };
import vfPfsid from "./vf_pfsid.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "batching.inv.yaml": batching,
  "caching_mode.inv.yaml": cachingMode,
  "devtlb_pasid.inv.yaml": devtlbPasid,
  "dma_legacy.inv.yaml": dmaLegacy,
  "dma_pasid_first_stage.inv.yaml": dmaPasidFirstStage,
  "dma_second_stage.inv.yaml": dmaSecondStage,
  "dsi_fallback.inv.yaml": dsiFallback,
  "first_vs_second_stage.inv.yaml": firstVsSecondStage,
  "lazy_unmap.inv.yaml": lazyUnmap,
  "legacy_mode.inv.yaml": legacyMode,
  "nested_parent.inv.yaml": nestedParent,
  "psi_alignment.inv.yaml": psiAlignment,
  "register_flush.inv.yaml": registerFlush,
  "sva_dedup.inv.yaml": svaDedup,
  "tag_order.inv.yaml": tagOrder,
  "unmap_hint.inv.yaml": unmapHint,
  "versions.inv.yaml": versions,
  "vf_pfsid.inv.yaml": vfPfsid,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/vtd/${name}`, src)) Deno.test(t);
}
