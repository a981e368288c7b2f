import assert from "node:assert/strict";
import { formatCacheTag } from "../../../dsl/areas/vtd_tags.ts";
import { eventLogCreate } from "../../../lib/events.ts";
import { intelIommuProbeDevice } from "../../../lib/drivers/intel/device.ts";
import { vtdIommuCreate } from "../../../lib/hw/vtd/iommu.ts";
import { A7_HEAD, runVtd, vtdSpecErrors } from "./vtd_fixtures.ts";

Deno.test("formatCacheTag() names the cache, then did, pasid and users when not default", () => {
  const dmar0 = vtdIommuCreate("dmar0", eventLogCreate());
  const nic = intelIommuProbeDevice(dmar0, { name: "nic0", sid: 0x300, ats: true });
  const rows = [
    {
      tag: { type: "IOTLB", dev: null, domainId: 5, pasid: 0, users: 1 },
      text: "IOTLB iommu=dmar0 did=5",
    },
    {
      tag: { type: "NESTING_IOTLB", dev: null, domainId: 3, pasid: 0x10, users: 2 },
      text: "NESTING_IOTLB iommu=dmar0 did=3 pasid=0x10 users=2",
    },
    {
      tag: { type: "DEVTLB", dev: nic, domainId: 5, pasid: 0, users: 1 },
      text: "DEVTLB dev=nic0 did=5",
    },
  ] as const;
  for (const r of rows) assert.equal(formatCacheTag({ ...r.tag, iommu: dmar0 }), r.text);
});

const STEP = "steps:\n  - attach: { device: A, domain: D }\n    expect:\n      cache_tags:\n";
const LINE = A7_HEAD.split("\n").length + 4;

// Lines the cache_tags key must refuse at load time, with the error each gives.
const BAD: readonly { readonly line: string; readonly error: string }[] = [
  {
    line: "D: [IOTBL iommu=dmar0 did=5]",
    error: 'Cannot read cache tag: unknown tag type "IOTBL"',
  },
  { line: "D: [IOTLB iommu=dmar0]", error: "Cannot read cache tag: missing did=" },
  { line: "D: [DEVTLB did=5]", error: "Cannot read cache tag: missing dev=" },
  {
    line: "D: [IOTLB dev=A did=5]",
    error: 'Cannot read cache tag: unknown field "dev"',
  },
  {
    line: "D: [IOTLB iommu=dmar2 did=5]",
    error: 'Cannot read cache tag: no VT-d unit named "dmar2"',
  },
  { line: "D: [DEVTLB dev=Z did=5]", error: 'Cannot read cache tag: no device named "Z"' },
  {
    line: "D: [IOTLB iommu=dmar0 did=0x10000]",
    error: 'Cannot read cache tag: did: cannot read "0x10000"',
  },
  { line: "D: [IOTLB did]", error: 'Cannot read cache tag: expected field=value, got "did"' },
  { line: "E: []", error: 'Cannot read cache_tags: no domain named "E"' },
  { line: "D: IOTLB", error: "Cannot read cache_tags: expected a list of cache tag lines" },
];

Deno.test("cache_tags refuses malformed tag lines at load time", async (t) => {
  for (const b of BAD) {
    await t.step(b.line, () => {
      assert.deepEqual(vtdSpecErrors(`${A7_HEAD}${STEP}        ${b.line}\n`), [
        `${LINE}: ${b.error}`,
      ]);
    });
  }
});

Deno.test("cache_tags compares the list in order and shows a diff", () => {
  // A and B share dmar0's IOTLB tag (users=2); the spec forgot that.
  const r = runVtd(`${A7_HEAD}steps:
  - attach: { device: A, domain: D }
  - attach: { device: B, domain: D }
    expect:
      cache_tags:
        D:
          - IOTLB did=5
          - DEVTLB dev=A did=5
`);
  const [f] = r.steps[1].failures;
  assert.equal(f.title, "Step 2 attach: the cache tags of D differ (2 tags)");
  assert.equal(f.range?.start.line, 18);
  assert.deepEqual(f.detail, [
    "diff (- expected, + actual):",
    "  L18 - IOTLB did=5",
    "      + IOTLB iommu=dmar0 did=5 users=2",
    "        DEVTLB dev=A did=5",
  ]);
});

Deno.test("cache_tags on a domain that is not VT-d is a failure, not a crash", () => {
  const r = runVtd(`invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3 }
domains:
  s: {}
steps:
  - flush_all: { domain: s }
    expect: { cache_tags: { s: [] } }
`);
  assert.equal(
    r.steps[0].failures[0].title,
    'Step 1 flush_all: cache_tags: "s" is not a VT-d domain',
  );
});
