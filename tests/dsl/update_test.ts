import assert from "node:assert/strict";
import { collectUpdates } from "../../dsl/cli.ts";
import { loadSuite, runScenario } from "../../dsl/suite.ts";
import { applyUpdates } from "../../dsl/update.ts";

const SPEC = `# a comment that must survive
invspec: 1
name: update me
iommus:
  smmu0: { kind: smmuv3 }   # no RIL: one command per page
steps:
  - tlbi_range: { iommu: smmu0, cmd: "TLBI_NH_VA asid=1 leaf", iova: 0x40000, size: 12K }
    expect:
      - TLBI_NH_VA asid=$A addr=0x40000 leaf   # first page
      # pages two and three:
      - TLBI_NH_VA asid=$A addr=0x41000 leaf
      - TLBI_NH_VA asid=1 addr=0x42000 leaf
      - CMD_SYNC
  - tlbi_range: { iommu: smmu0, cmd: "TLBI_NH_VA asid=2 leaf", iova: 0x0, size: 4K }
    expect: [TLBI_NH_VA asid=2 leaf, CMD_SYNC]
`;

function updateText(text: string): { text: string; lines: string[] } {
  const loaded = loadSuite([{ file: "u.inv.yaml", text }]);
  assert.deepEqual(loaded.specErrors, []);
  const results = loaded.scenarios.map((s) => runScenario(s));
  const reqs = collectUpdates(results).get("u.inv.yaml") ?? [];
  const r = applyUpdates(text, reqs);
  return { text: r.text, lines: r.changes.map((c) => `${c.line} ${c.what} ${c.done}`) };
}

function passes(text: string): boolean {
  const loaded = loadSuite([{ file: "u.inv.yaml", text }]);
  return loaded.specErrors.length === 0 &&
    loaded.scenarios.every((s) => runScenario(s).status === "pass");
}

Deno.test("the update fixture passes as written", () => {
  assert.ok(passes(SPEC));
});

Deno.test("applyUpdates() restores a broken line byte for byte and keeps its comment", () => {
  const broken = SPEC.replace("addr=0x41000 leaf", "addr=0x43000 leaf  # typo here");
  assert.ok(!passes(broken));
  const r = updateText(broken);
  assert.equal(r.text, SPEC.replace("addr=0x41000 leaf", "addr=0x41000 leaf  # typo here"));
  assert.deepEqual(r.lines, ["9 step 1 tlbi_range true"]);
  assert.ok(passes(r.text));
});

Deno.test("applyUpdates() adds missing lines and drops extra ones, keeping captures", () => {
  const missing = SPEC.replace("      - TLBI_NH_VA asid=1 addr=0x42000 leaf\n", "")
    .replace(
      "expect: [TLBI_NH_VA asid=2 leaf, CMD_SYNC]",
      "expect: [TLBI_NH_VA asid=2 leaf, CMD_SYNC, CMD_SYNC]",
    );
  const r = updateText(missing);
  assert.equal(
    r.text,
    SPEC.replace("asid=1 addr=0x42000", "asid=$A addr=0x42000"),
  );
  assert.ok(passes(r.text));
});

Deno.test("applyUpdates() leaves a passing file untouched", () => {
  assert.equal(updateText(SPEC).text, SPEC);
});

Deno.test("applyUpdates() refuses a list that matrix cells disagree on", () => {
  const text = SPEC.replace("iommus:", "matrix: { range_inv: [false, true] }\niommus:");
  const r = updateText(text);
  assert.equal(r.text, text);
  assert.deepEqual(r.lines, ["10 step 1 tlbi_range false", "16 step 2 tlbi_range false"]);
});

Deno.test("applyUpdates() keeps the comment of a replaced queue-named line", () => {
  const spec = `invspec: 1
name: two queues
iommus:
  smmu0: { kind: smmuv3 }
  smmu1: { kind: smmuv3 }
steps:
  - tlbi_range: { iommu: smmu1, cmd: "TLBI_NH_VA asid=1 leaf", iova: 0x40000, size: 8K }
    expect:
      - smmu1: TLBI_NH_VA asid=1 addr=0x40000 leaf  # first
      - smmu1: TLBI_NH_VA asid=1 addr=0x41000 leaf  # second
      - smmu1: CMD_SYNC
`;
  const broken = spec.replace("addr=0x41000", "addr=0x43000");
  assert.equal(updateText(broken).text, spec);
});
