import assert from "node:assert/strict";
import { loadSuite, runScenario } from "../../../dsl/suite.ts";

const HEAD = `invspec: 1
name: t
iommus:
  smmu0: { kind: smmuv3, features: [range_inv] }
devices:
  dev1: { iommu: smmu0, sids: [0x20] }
domains:
  d1: { stage: s1, asid: 1 }
steps:
  - attach: { device: dev1, domain: d1 }
  - map: { domain: d1, iova: 0x40000, size: 4K, pa: 0x80040000 }
`;

function errors(step: string): string[] {
  return loadSuite([{ file: "t.inv.yaml", text: HEAD + step }]).specErrors.map((d) =>
    [d.title, d.label].filter(Boolean).join(" / ")
  );
}

function failures(step: string): string[] {
  const loaded = loadSuite([{ file: "t.inv.yaml", text: HEAD + step }]);
  assert.deepEqual(loaded.specErrors, []);
  const r = runScenario(loaded.scenarios[0]);
  return r.steps.flatMap((s) => s.failures.map((d) => d.title));
}

Deno.test("dma: accepts fault and a map of pa, fault, from", () => {
  assert.deepEqual(
    failures(
      "  - dma: { device: dev1, iova: 0x40010 }\n    expect: { dma: { pa: 0x80040010, from: walk } }\n",
    ),
    [],
  );
  assert.deepEqual(
    failures("  - dma: { device: dev1, iova: 0x50000 }\n    expect: { dma: fault }\n"),
    [],
  );
  assert.deepEqual(
    failures(
      "  - dma: { device: dev1, iova: 0x50000 }\n    expect: { dma: { fault: F_TRANSLATION } }\n",
    ),
    [],
  );
});

Deno.test("dma: says what the DMA did when it differs", () => {
  assert.deepEqual(
    failures("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: fault }\n"),
    [
      "Step 3 dma: the DMA reached 0x80040000 (from walk), expected a fault",
    ],
  );
  assert.deepEqual(
    failures("  - dma: { device: dev1, iova: 0x50000 }\n    expect: { dma: { pa: 0x50000 } }\n"),
    [
      "Step 3 dma: the DMA faulted with F_TRANSLATION, expected 0x50000",
    ],
  );
  assert.deepEqual(
    failures("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { from: atc } }\n"),
    [
      "Step 3 dma: the DMA reached 0x80040000 (from walk), expected it from atc",
    ],
  );
  assert.deepEqual(
    failures("  - unmap: { domain: d1, iova: 0x40000, size: 4K }\n    expect: { dma: fault }\n"),
    [
      "Step 3 unmap: dma: this step is not a dma",
    ],
  );
});

Deno.test("dma: reading errors suggest the name meant", () => {
  assert.deepEqual(
    errors(
      "  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { fault: F_TRANSLATON } }\n",
    ),
    [
      'Cannot read dma.fault: "F_TRANSLATON" is not a fault / did you mean "F_TRANSLATION"?',
    ],
  );
  assert.deepEqual(
    errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { frm: atc } }\n"),
    [
      'Unknown dma field "frm" / did you mean "from"?',
    ],
  );
  assert.deepEqual(errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: 3 }\n"), [
    "Cannot read dma: expected fault or { pa, fault, from }",
  ]);
});

Deno.test("stale: reading errors point at the line", () => {
  assert.deepEqual(
    errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { stale: [IOTBL smmu0] }\n"),
    [
      'Cannot read stale finding: unknown kind "IOTBL" / did you mean "IOTLB"?',
    ],
  );
  assert.deepEqual(
    errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { stale: IOTLB smmu0 }\n"),
    [
      'Cannot read stale: expected a list of lines such as "ATC nic0 iova=0x40000"',
    ],
  );
});

Deno.test("stale: [] pins that the step leaves nothing stale", () => {
  assert.deepEqual(
    failures("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { stale: [] }\n"),
    [],
  );
});

Deno.test("dma: knows the VT-d faults and the device-TLB source", () => {
  assert.deepEqual(
    errors(
      "  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { fault: PASID_NOT_PRESNT } }\n",
    ),
    ['Cannot read dma.fault: "PASID_NOT_PRESNT" is not a fault / did you mean "PASID_NOT_PRESENT"?'],
  );
  assert.deepEqual(
    errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { from: devtlb } }\n"),
    [],
  );
  assert.deepEqual(
    errors("  - dma: { device: dev1, iova: 0x40000 }\n    expect: { dma: { from: devtbl } }\n"),
    ['Cannot read dma.from: expected atc, devtlb, iotlb, walk, bypass / did you mean "devtlb"?'],
  );
});

Deno.test("stale: a pin line's numbers are read at load time", () => {
  assert.deepEqual(
    errors(
      "  - dma: { device: dev1, iova: 0x40000 }\n    expect: { stale: [IOTLB smmu0 iova=0xZZ] }\n",
    ),
    [
      'Cannot read stale finding: field "iova": "0xZZ": expected a number (decimal, 0x hex, or a size such as 4K)',
    ],
  );
});
