import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { defineSpec, runSpec, step, type StepInput } from "../../dsl/builder.ts";
import { normalizeInts } from "../../dsl/load.ts";
import { loadSuite, runScenario } from "../../dsl/suite.ts";
import { VERBS } from "../../dsl/verbs/mod.ts";

// The TypeScript twin of examples/smmuv3/range_tlbi.inv.yaml, written with the builder.
const RANGE_TLBI = defineSpec({
  invspec: 1,
  name: "Range TLBI with and without RIL",
  tags: ["smmuv3", "tlbi"],
  iommus: { smmu0: { kind: "smmuv3", features: ["range_inv"] } },
  matrix: { range_inv: [true, false] },
  steps: [
    step.tlbi_range(
      { iommu: "smmu0", cmd: "TLBI_NH_VA asid=1 leaf", iova: 0x40000, size: "8K" },
      {
        name: "8K of 4K pages",
        expect: [
          {
            when: { range_inv: true },
            commands: ["TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf", "CMD_SYNC"],
          },
          {
            when: { range_inv: false },
            commands: [
              "TLBI_NH_VA asid=1 addr=0x40000 leaf",
              "TLBI_NH_VA asid=1 addr=0x41000 leaf",
              "CMD_SYNC",
            ],
          },
        ],
      },
    ),
  ],
});

function yamlObject(text: string): unknown {
  return normalizeInts(parseAllDocuments(text, { intAsBigInt: true })[0].toJS());
}

Deno.test("the builder twin is the same object as the YAML example", async () => {
  const text = await Deno.readTextFile("examples/smmuv3/range_tlbi.inv.yaml");
  const y = yamlObject(text) as Record<string, unknown>;
  // The YAML writes sizes as sizes; the twin writes the same text.
  assert.deepEqual(normalizeInts(RANGE_TLBI), { ...y });
});

Deno.test("runSpec() on the twin emits what the YAML form emits", async () => {
  const text = await Deno.readTextFile("examples/smmuv3/range_tlbi.inv.yaml");
  const yaml = loadSuite([{ file: "y.inv.yaml", text }]).scenarios.map((s) => runScenario(s));
  const ts = runSpec(RANGE_TLBI).scenarios;
  assert.deepEqual(ts.map((r) => r.status), yaml.map((r) => r.status));
  assert.deepEqual(
    ts.map((r) => r.steps.map((s) => s.commands)),
    yaml.map((r) => r.steps.map((s) => s.commands)),
  );
});

async function* specFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* specFiles(p);
    else if (/\.inv\.ya?ml$/.test(e.name)) yield p;
  }
}

Deno.test("every example can be rebuilt with defineSpec() and step.<verb>() into the same object", async () => {
  let n = 0;
  for await (const file of specFiles("examples")) {
    for (const doc of parseAllDocuments(await Deno.readTextFile(file), { intAsBigInt: true })) {
      if (doc.contents === null) continue;
      const obj = normalizeInts(doc.toJS()) as Record<string, unknown> & {
        steps: Record<string, unknown>[];
      };
      const steps = obj.steps.map((s) => {
        const verb = Object.keys(s).find((k) => k in VERBS) as keyof typeof VERBS;
        const { [verb]: args, ...extras } = s;
        return (step[verb] as (a: unknown, e: unknown) => StepInput)(args, extras);
      });
      const rebuilt = defineSpec({ ...(obj as never as Parameters<typeof defineSpec>[0]), steps });
      assert.deepEqual(rebuilt, obj, file);
      const report = runSpec(rebuilt, { file });
      assert.deepEqual(report.specErrors, [], file);
      assert.ok(report.scenarios.every((r) => r.status === "pass" || r.status === "xfail"), file);
      n++;
    }
  }
  assert.ok(n > 0);
});

Deno.test("runSpec() reports a TS spec error at the step's call site", async () => {
  const bad = defineSpec({
    invspec: 1,
    name: "bad",
    iommus: { smmu0: { kind: "smmuv3" } },
    steps: [step.tlbi_range({ iommu: "smmu9", cmd: "TLBI_NH_VA asid=1", iova: 0, size: "4K" })],
  });
  const r = runSpec(bad);
  assert.equal(r.specErrors.length, 1);
  assert.match(r.specErrors[0].title, /No iommu named "smmu9"/);
  assert.match(r.specErrors[0].range!.file, /builder_test\.ts$/);
  const src = await Deno.readTextFile("tests/dsl/builder_test.ts");
  const line = src.split("\n").findIndex((l) => l.includes(`iommu: "smmu9"`)) + 1;
  assert.equal(r.specErrors[0].range!.start.line, line);
});
