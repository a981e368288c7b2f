import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import { join } from "node:path";
import { specJsonSchema } from "../../dsl/json_schema.ts";

Deno.test("schema/invspec.schema.json is up to date (run: deno task schema)", async () => {
  const committed = await Deno.readTextFile("schema/invspec.schema.json");
  assert.equal(committed, JSON.stringify(specJsonSchema(), null, 2) + "\n");
});

async function* specs(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* specs(p);
    else if (/\.inv\.ya?ml$/.test(e.name)) yield p;
  }
}

Deno.test("the JSON Schema accepts every example", async () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(specJsonSchema());
  let n = 0;
  for await (const file of specs("examples")) {
    for (const doc of parseAllDocuments(await Deno.readTextFile(file))) {
      if (!("contents" in doc) || doc.contents === null) continue;
      n++;
      assert.ok(validate(doc.toJS()), `${file}: ${ajv.errorsText(validate.errors)}`);
    }
  }
  assert.ok(n > 0);
});

Deno.test("the JSON Schema rejects an unknown verb and an unknown key", () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(specJsonSchema());
  const base = { invspec: 1, name: "x", iommus: { s: { kind: "smmuv3" } } };
  assert.equal(validate({ ...base, steps: [{ tlbi_rang: {} }] }), false);
  assert.equal(validate({ ...base, steps: [], extra: 1 }), false);
});
