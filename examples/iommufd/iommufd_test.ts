// The iommufd example suite under `deno test`. Every *.inv.yaml of this folder is listed here
// (tests/examples_test.ts fails otherwise). The last test checks that every row of the kernel
// selftest cases in iommufd.md §5 is a step of these specs, in the selftest's order.
import assert from "node:assert/strict";
import { loadSpecText } from "../../dsl/load.ts";
import { specTests } from "../../dsl/testing.ts";
import allocHwptNested from "./alloc_hwpt_nested.inv.yaml" with { type: "text" };
import armVsmmuBugs from "./arm_vsmmu_bugs.inv.yaml" with { type: "text" };
import armVsmmuRejectBits from "./arm_vsmmu_reject_bits.inv.yaml" with { type: "text" };
import cmdLength from "./cmd_length.inv.yaml" with { type: "text" };
import coreLoop from "./core_loop.inv.yaml" with { type: "text" };
import vdeviceCache from "./vdevice_cache.inv.yaml" with { type: "text" };
import vtdNested from "./vtd_nested.inv.yaml" with { type: "text" };

const SPECS: Record<string, string> = {
  "alloc_hwpt_nested.inv.yaml": allocHwptNested,
  "arm_vsmmu_bugs.inv.yaml": armVsmmuBugs,
  "arm_vsmmu_reject_bits.inv.yaml": armVsmmuRejectBits,
  "cmd_length.inv.yaml": cmdLength,
  "core_loop.inv.yaml": coreLoop,
  "vdevice_cache.inv.yaml": vdeviceCache,
  "vtd_nested.inv.yaml": vtdNested,
};

for (const [name, src] of Object.entries(SPECS)) {
  for (const t of specTests(`examples/iommufd/${name}`, src)) Deno.test(t);
}

const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i + 1}`);

// iommufd.md §5.1-5.3 (kernel selftest rows, in order), §5.4 (derived loop cases; D4 has no
// driver that can show it, see core_loop.inv.yaml) and §7.6 (ARM worked examples).
const ROWS: Readonly<Record<string, readonly string[]>> = {
  "cmd_length.inv.yaml": range("L", 4),
  "alloc_hwpt_nested.inv.yaml": range("H", 14),
  "vdevice_cache.inv.yaml": range("V", 14),
  "core_loop.inv.yaml": ["D1", "D2", "D3", "D5"],
  "arm_vsmmu_bugs.inv.yaml": ["E1", "D6", "E2", "E3", "E6"],
  "arm_vsmmu_reject_bits.inv.yaml": ["E4", "E5", "E7"],
};

Deno.test("examples/iommufd has every §5 selftest row, derived case and §7.6 example", async (t) => {
  for (const [file, rows] of Object.entries(ROWS)) {
    await t.step(file, () => {
      const r = loadSpecText(file, SPECS[file]);
      assert.deepEqual(r.diagnostics, []);
      // Row names are the first word of step names; a row may span steps (D3, E3).
      const seen = r.specs.flatMap((s) => s.steps.map((st) => st.label?.split(" ")[0] ?? ""))
        .filter((w) => /^[LHVDE]\d+$/.test(w));
      assert.deepEqual(seen.filter((w, i) => w !== seen[i - 1]), rows);
    });
  }
});
