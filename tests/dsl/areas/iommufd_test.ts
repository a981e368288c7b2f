import assert from "node:assert/strict";
import { IOMMUFD_AREA } from "../../../dsl/areas/iommufd.ts";
import { AREAS, EXPECT_KEYS } from "../../../dsl/areas/mod.ts";
import { VARIANT_FAMILIES } from "../../../dsl/variants.ts";
import { VERBS } from "../../../dsl/verbs/mod.ts";
import { ARM_HEAD, SELFTEST_HEAD, specErrorsOf } from "./iommufd_fixtures.ts";

Deno.test("IOMMUFD_AREA is registered after the SMMUv3 area it builds on", () => {
  const names = AREAS.map((a) => a.name);
  assert.ok(names.indexOf("iommufd") > names.indexOf("smmuv3"));
  for (const k of ["iotlb", "dev_cache", "op_calls", "raw_cmds"]) {
    assert.equal(EXPECT_KEYS[k], IOMMUFD_AREA.expect?.[k]);
  }
  assert.ok("hwpt_invalidate" in VERBS && "viommu_invalidate" in VERBS);
  assert.deepEqual(VARIANT_FAMILIES.iommufd.values, ["core-loop", "driver-loop"]);
  assert.equal(VARIANT_FAMILIES.iommufd.default, "core-loop");
});

// Each row: a step the area refuses at load time, and its one spec error (`line: title`).
const ROWS: readonly [string, string, string][] = [
  [
    "an unknown target (did-you-mean)",
    "hwpt_invalidate: { hwpt: nestd, entries: [] }",
    '11: No iommufd object named "nestd"',
  ],
  [
    "entries and raw data together",
    'hwpt_invalidate: { hwpt: nested, entries: [], data: "00", entry_num: 1 }',
    "11: Give the array as entries or as data, not both",
  ],
  [
    "raw data without entry_num",
    'hwpt_invalidate: { hwpt: nested, data: "00" }',
    "11: With raw data, say how many entries it holds",
  ],
  [
    "entries that fit no single struct",
    "hwpt_invalidate: { hwpt: nested, entries: [{ iotlb_id: 0 }, { cache_id: 0 }] }",
    "11: Entries mix structs",
  ],
  [
    "entries whose struct nothing tells",
    "hwpt_invalidate: { hwpt: 0, entries: [{ flags: 0 }] }",
    "11: Cannot tell which entry struct these entries are",
  ],
  [
    "a command-queue fault without a vSMMU",
    "viommu_invalidate: { viommu: viommu, entries: [], cmdq_fault: { issue: 0, errno: EIO } }",
    "11: cmdq_fault needs an ARM vIOMMU",
  ],
  [
    "another iommufd ioctl (IOMMU_DESTROY), which the model does not run",
    "hwpt_invalidate: { hwpt: nested, ioctl: 0x3b80, entries: [] }",
    "11: Only IOMMU_HWPT_INVALIDATE is modelled",
  ],
  [
    "op_calls on another verb",
    "flush_all: { domain: blocked }\n    expect: { op_calls: 1 }",
    "12: op_calls is an expectation of hwpt_invalidate/viommu_invalidate",
  ],
];

Deno.test("hwpt_invalidate / viommu_invalidate steps the area refuses at load", async (t) => {
  for (const [name, step, error] of ROWS) {
    await t.step(name, () => {
      assert.deepEqual(specErrorsOf(`${SELFTEST_HEAD}steps:\n  - ${step}\n`), [error]);
    });
  }
});

Deno.test("an invalidation step without an iommufd: section is a spec error", () => {
  const text = "invspec: 1\nname: t\nsteps:\n  - hwpt_invalidate: { hwpt: 0 }\n";
  assert.deepEqual(specErrorsOf(text), ["4: hwpt_invalidate needs an iommufd: section"]);
});

Deno.test("a raw ID names the object declaration order gives it", () => {
  // ID 4 is `nested` (ioas 1, dev 2, parent 3): its own struct decides `{ flags: 0 }`.
  assert.deepEqual(
    specErrorsOf(
      `${SELFTEST_HEAD}steps:\n  - hwpt_invalidate: { hwpt: 4, entries: [{ flags: 0 }] }\n`,
    ),
    [],
  );
  // ARM entries to a vSMMU given by ID.
  assert.deepEqual(
    specErrorsOf(
      `${ARM_HEAD}steps:\n  - viommu_invalidate: { viommu: 4, entries: [TLBI_NSNH_ALL] }\n`,
    ),
    [],
  );
});
