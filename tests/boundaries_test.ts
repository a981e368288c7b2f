import assert from "node:assert/strict";
import { join } from "node:path";

async function* tsFilesUnder(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* tsFilesUnder(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("lib/ imports nothing outside lib/ and does no I/O", async () => {
  let n = 0;
  for await (const path of tsFilesUnder("lib")) {
    n++;
    // JSDoc examples may import what user code imports: look at code only.
    const src = (await Deno.readTextFile(path)).replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, spec] of src.matchAll(/from "([^"]+)"/g)) {
      assert.ok(spec.startsWith("."), `${path} imports "${spec}"`);
      assert.ok(!spec.includes("/dsl/"), `${path} imports "${spec}"`);
    }
    assert.doesNotMatch(src, /\bDeno\.|Date\.now|Math\.random|console\./, path);
  }
  assert.ok(n > 5);
});

Deno.test("dsl/ prints only from the CLI", async () => {
  for await (const path of tsFilesUnder("dsl")) {
    const src = await Deno.readTextFile(path);
    assert.doesNotMatch(src, /console\./, path);
    if (!path.endsWith("cli.ts")) assert.doesNotMatch(src, /Deno\.exit/, path);
  }
});
