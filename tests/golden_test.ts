// Golden CLI runs: each folder under tests/golden/ holds case.inv.yaml, the arguments (one
// per line, `case.inv.yaml` resolved in the folder), and the exact expected stdout and exit
// code. Regenerate with `deno task golden` and review the diff like code.
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../dsl/cli.ts";

const UPDATE = Deno.env.get("INVSPEC_GOLDEN_UPDATE") === "1";

async function* cases(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory) continue;
    const p = join(dir, e.name);
    if (await Deno.stat(join(p, "args")).catch(() => undefined)) yield p;
    else yield* cases(p);
  }
}

const dirs: string[] = [];
for await (const d of cases("tests/golden")) dirs.push(d);
dirs.sort();

for (const dir of dirs) {
  Deno.test(`golden: ${dir}`, async () => {
    const args = (await Deno.readTextFile(join(dir, "args"))).split("\n").map((a) => a.trim())
      .filter(Boolean).map((a) => a.replace(/^case\.inv\.yaml$/, join(dir, "case.inv.yaml")));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
    const stdout = out.join("\n") + "\n";
    const stderr = err.join("\n");
    if (UPDATE) {
      await Deno.writeTextFile(join(dir, "stdout"), stdout);
      await Deno.writeTextFile(join(dir, "exit"), `${code}\n`);
      if (stderr) await Deno.writeTextFile(join(dir, "stderr"), stderr + "\n");
      return;
    }
    assert.equal(stdout, await Deno.readTextFile(join(dir, "stdout")));
    assert.equal(`${code}\n`, await Deno.readTextFile(join(dir, "exit")));
    const wantErr = await Deno.readTextFile(join(dir, "stderr")).catch(() => "");
    assert.equal(stderr ? stderr + "\n" : "", wantErr);
  });
}
