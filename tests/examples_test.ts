// Every example spec must be registered in its folder's *_test.ts, so `deno test` runs it.
import assert from "node:assert/strict";
import { join } from "node:path";

Deno.test("every examples/*/*.inv.yaml is imported by its folder's test module", async () => {
  let folders = 0;
  for await (const dir of Deno.readDir("examples")) {
    if (!dir.isDirectory) continue;
    folders++;
    const path = join("examples", dir.name);
    const specs: string[] = [];
    const tests: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (/\.inv\.ya?ml$/.test(e.name)) specs.push(e.name);
      if (e.name.endsWith("_test.ts")) tests.push(await Deno.readTextFile(join(path, e.name)));
    }
    assert.ok(tests.length > 0, `${path} has specs but no *_test.ts`);
    for (const s of specs) {
      assert.ok(
        tests.some((t) => t.includes(`"./${s}" with { type: "text" }`)),
        `${path}/${s} is not imported by ${path}/*_test.ts`,
      );
    }
  }
  assert.ok(folders > 0);
});
