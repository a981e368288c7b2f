import assert from "node:assert/strict";
import { vtdSpecErrors } from "./vtd_fixtures.ts";

const UNITS = `invspec: 1
name: t
iommus:
  dmar0: { kind: vtd }
  smmu0: { kind: smmuv3 }
`;

// Each row: declarations or steps the VT-d area must refuse at load time (the builder and
// the verbs rely on these checks), and the spec errors they give as `line: title`.
// Expected titles are this area's wording; the rules follow the driver: a VT-d endpoint is
// named by its requester id, nested domains need a second-stage nest-parent
// (intel_iommu_domain_alloc_nested()), SVA domains carry the process PASID and use
// FLPT_DEFAULT_DID, DIDs 0 and 1 are reserved (IDA_START_DID = 2).
const ROWS: readonly { readonly name: string; readonly text: string; errors: string[] }[] = [
  {
    name: "a VT-d device without sid, and SMMUv3 fields on it",
    text: UNITS + "devices:\n  d: { iommu: dmar0, sids: [1], canwbs: true }\nsteps: []\n",
    errors: [
      '7: Device "d" needs sid: dmar0 is a VT-d unit',
      '7: Device "d": sids applies to SMMUv3 masters',
      '7: Device "d": canwbs applies to SMMUv3 masters',
    ],
  },
  {
    name: "VT-d fields on an SMMUv3 master",
    text: UNITS + "devices:\n  m: { iommu: smmu0, sids: [1], sid: 3, qdep: 4 }\nsteps: []\n",
    errors: [
      '7: Device "m": sid applies to VT-d endpoints',
      '7: Device "m": qdep applies to VT-d endpoints',
    ],
  },
  {
    name: "two endpoints with one requester id, and ATS facts without ATS",
    text: UNITS +
      "devices:\n  a: { iommu: dmar0, sid: 0x300 }\n  b: { iommu: dmar0, sid: 0x300, qdep: 8 }\n" +
      "steps: []\n",
    errors: [
      "8: Requester id 0x300 is also used by a on dmar0",
      '8: Device "b": qdep applies to ATS devices',
    ],
  },
  {
    name: "nested without a parent, and a parent that cannot nest",
    text: UNITS +
      "domains:\n  n: { type: nested, iommu: dmar0 }\n  m: { type: nested, parent: p, iommu: dmar0 }\n" +
      "  p: { iommu: dmar0 }\nsteps: []\n",
    errors: [
      '7: Nested domain "n" needs parent: its second-stage domain',
      '8: Domain "p" cannot be a nesting parent',
    ],
  },
  {
    name: "an unknown parent (did you mean), and parent on a paging domain",
    text: UNITS +
      "domains:\n  n: { type: nested, parent: s22, iommu: dmar0 }\n" +
      "  s2: { nest_parent: true, iommu: dmar0, parent: n }\nsteps: []\n",
    errors: ['7: No VT-d domain named "s22"', '8: Domain "s2": only a nested domain has a parent'],
  },
  {
    name: "SVA without its PASID; a first-stage nest parent; SMMUv3 keys on VT-d",
    text: UNITS +
      "domains:\n  s: { type: sva, iommu: dmar0 }\n" +
      "  f: { level: first, nest_parent: true, iommu: dmar0, asid: 3 }\nsteps: []\n",
    errors: [
      '7: SVA domain "s" needs pasid: the process\'s PASID',
      "8: Only a second-level paging domain can be a parent",
      '8: Domain "f": asid applies to SMMUv3 domains',
    ],
  },
  {
    name: "reserved and misplaced domain ids",
    text: UNITS +
      "domains:\n  a: { did: 1, iommu: dmar0 }\n  b: { did: { dmar9: 5 }, iommu: dmar0 }\n" +
      "  c: { type: sva, pasid: 3, did: 4, iommu: dmar0 }\nsteps: []\n",
    errors: [
      "7: Domain id 1 is reserved",
      '8: No VT-d unit named "dmar9"',
      "9: SVA domains use domain id 1 on every unit",
    ],
  },
  {
    name: "declared identity/blocked VT-d domains, VT-d keys on an SMMUv3 domain",
    text: UNITS +
      "domains:\n  i: { type: identity, iommu: dmar0 }\n  s: { iommu: smmu0, level: first }\n" +
      "steps: []\n",
    errors: ["7: VT-d identity domains are not declared", '8: Domain "s": level is VT-d only'],
  },
];

const STEP_HEAD = UNITS + `devices:
  d: { iommu: dmar0, sid: 0x300 }
  m: { iommu: smmu0, sids: [1] }
domains:
  v: { iommu: dmar0 }
  n: { type: nested, parent: p, iommu: dmar0 }
  p: { nest_parent: true, iommu: dmar0 }
  s: { iommu: smmu0 }
steps:
`;

// Steps that would hand a VT-d object to the wrong model.
const STEP_ROWS: readonly { readonly name: string; readonly step: string; error: string }[] = [
  {
    name: "identity",
    step: "attach: { device: d, domain: identity }",
    error: "The VT-d model has no identity domain",
  },
  {
    name: "a VT-d device on an SMMUv3 domain",
    step: "attach: { device: d, domain: s }",
    error: 'Domain "s" is not a VT-d domain',
  },
  {
    name: "an SMMUv3 master on a VT-d domain",
    step: "attach: { device: m, domain: v }",
    error: 'Domain "v" is a VT-d domain',
  },
  {
    name: "path",
    step: "detach: { device: d, path: driver }",
    error: "detach: path applies to SMMUv3 devices",
  },
  {
    name: "an SMMUv3 verb",
    step: "iotlb_sync: { domain: v, iova: 0, size: 4K }",
    error: 'iotlb_sync is an SMMUv3 verb; "v" is a VT-d domain',
  },
  {
    name: "a VT-d verb on SMMUv3",
    step: "flush_range: { domain: s, start: 0, end: 0xfff }",
    error: 'flush_range is a VT-d verb; "s" is not a VT-d domain',
  },
  {
    name: "map on a nested domain",
    step: "map: { domain: n, iova: 0, size: 4K }",
    error: 'Domain "n" has no page table to map (it is nested)',
  },
  {
    name: "sva_notify on paging",
    step: "sva_notify: { domain: v, start: 0, end: 0x1000 }",
    error: 'sva_notify needs an SVA domain; "v" is paging',
  },
  {
    name: "tlbi_range on a VT-d unit",
    step: 'tlbi_range: { iommu: dmar0, cmd: "TLBI_NH_VA asid=1", iova: 0, size: 4K }',
    error: "tlbi_range builds SMMUv3 commands",
  },
];

Deno.test("checkVtdDecls() refuses declarations the VT-d model cannot build", async (t) => {
  for (const row of ROWS) {
    await t.step(row.name, () => assert.deepEqual(vtdSpecErrors(row.text), row.errors));
  }
});

Deno.test("checkVtdSteps() refuses steps that mix VT-d and SMMUv3 objects", async (t) => {
  const line = STEP_HEAD.split("\n").length;
  for (const row of STEP_ROWS) {
    await t.step(row.name, () => {
      assert.deepEqual(vtdSpecErrors(`${STEP_HEAD}  - ${row.step}\n`), [`${line}: ${row.error}`]);
    });
  }
});

Deno.test("checkVtdSteps() accepts the built-in blocked domain and PASID detach", () => {
  const steps = [
    "attach: { device: d, domain: blocked }",
    "attach: { device: d, domain: v, pasid: 3 }",
    "detach: { device: d, pasid: 3 }",
    "flush_range: { domain: n, start: 0, end: 0xfff, ih: 1 }",
  ];
  assert.deepEqual(vtdSpecErrors(STEP_HEAD + steps.map((s) => `  - ${s}\n`).join("")), []);
});
