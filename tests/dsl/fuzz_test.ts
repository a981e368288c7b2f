// 1,000 mutated copies of the example specs (wrong types, unknown keys, bad numbers,
// truncated YAML, ...) must never crash the runner: each gives spec errors (exit code 2)
// with a file:line:col inside the file, and every diagnostic renders.
import assert from "node:assert/strict";
import { join } from "node:path";
import { renderDiagnostic } from "../../dsl/frame.ts";
import { exitCode } from "../../dsl/report.ts";
import { loadSuite, runScenario } from "../../dsl/suite.ts";

/** mulberry32: a small seeded PRNG, so the mutations are the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Offsets of regex matches outside comments. */
function codeMatches(text: string, re: RegExp): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  for (const m of text.matchAll(re)) {
    const lineStart = text.lastIndexOf("\n", m.index) + 1;
    const before = text.slice(lineStart, m.index);
    if (!before.includes("#") && !before.trimStart().startsWith("#")) out.push(m);
  }
  return out;
}

// Each mutation returns undefined when it does not apply to this text.
const MUTATIONS: Record<string, (t: string, r: Rand) => string | undefined> = {
  "unknown top-level key": (t) => t.replace(/^name:/m, "nmae: typo\nname:"),
  "unknown key in a flow map": (t, r) => {
    const ms = codeMatches(t, /\{ /g);
    if (!ms.length) return;
    const m = pick(r, ms);
    return t.slice(0, m.index + 2) + "bogus_key: 1, " + t.slice(m.index + 2);
  },
  "bad number": (t, r) => {
    // Numbers in free text (step names, descriptions) are not numbers.
    const ms = codeMatches(t, /\b(0x[0-9a-fA-F]+|\d+[KMG])\b/g).filter((m) => {
      const line = t.slice(t.lastIndexOf("\n", m.index) + 1, m.index);
      return !/\b(name|description):/.test(line);
    });
    if (!ms.length) return;
    const m = pick(r, ms);
    return t.slice(0, m.index) + pick(r, ["0xZZ", "12Q", "-5", "0x1_"]) +
      t.slice(m.index + m[0].length);
  },
  "verb arguments of the wrong type": (t, r) => {
    const ms = codeMatches(t, /^(\s*- (?:name: [^\n]*\n\s*)?)([a-z_]+): \{[^\n]*\}/gm);
    if (!ms.length) return;
    const m = pick(r, ms);
    return t.slice(0, m.index) + `${m[1]}${m[2]}: [1, 2]` + t.slice(m.index + m[0].length);
  },
  "truncated inside a flow collection": (t, r) => {
    const ms = codeMatches(t, /[{\[]/g);
    if (!ms.length) return;
    const m = pick(r, ms);
    const end = t.indexOf("\n", m.index);
    const cut = m.index + 1 + Math.floor(r() * Math.max(1, end - m.index - 2));
    return t.slice(0, Math.min(cut, end - 1));
  },
  "wrong format version": (t) => t.replace(/^invspec: 1$/m, "invspec: two"),
  "duplicate key": (t) => t.replace(/^(name: .*)$/m, "$1\n$1"),
  "misspelt verb": (t, r) => {
    const ms = codeMatches(t, /^(\s*- )([a-z]+_?[a-z]*):/gm).filter((m) => m[2] !== "name");
    if (!ms.length) return;
    const m = pick(r, ms);
    return t.slice(0, m.index) + `${m[1]}${m[2]}x:` + t.slice(m.index + m[0].length);
  },
  "missing steps": (t) => t.replace(/^steps:/m, "stepz:"),
  "unknown opcode in an expectation": (t, r) => {
    const ms = codeMatches(t, /- (TLBI_[A-Z0-9_]+|CMD_SYNC|ATC_INV)\b/g);
    if (!ms.length) return;
    const m = pick(r, ms);
    return t.slice(0, m.index) + "- TLBI_BOGUS" + t.slice(m.index + m[0].length);
  },
  "tab indentation": (t) => t.replace(/^ {2}([^\s#])/m, "\t$1"),
};

async function exampleTexts(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await exampleTexts(p));
    else if (/\.inv\.ya?ml$/.test(e.name)) out.push({ file: p, text: await Deno.readTextFile(p) });
  }
  return out.sort((a, b) => a.file < b.file ? -1 : 1);
}

Deno.test("1,000 mutated examples give spec errors at file:line:col and never crash", async () => {
  const seeds = await exampleTexts("examples");
  assert.ok(seeds.length > 0);
  const r = prng(20261121);
  const names = Object.keys(MUTATIONS);
  const used = new Map<string, number>();
  let n = 0;
  for (let attempt = 0; n < 1000 && attempt < 20000; attempt++) {
    const seed = pick(r, seeds);
    const name = pick(r, names);
    const text = MUTATIONS[name](seed.text, r);
    if (text === undefined || text === seed.text) continue;
    n++;
    used.set(name, (used.get(name) ?? 0) + 1);
    const file = `${seed.file}~${n}`;
    const where = `mutation #${n} (${name}) of ${seed.file}`;
    const loaded = loadSuite([{ file, text }]);
    assert.ok(loaded.specErrors.length > 0, `${where} loaded without a spec error:\n${text}`);
    const lines = text.split("\n").length;
    for (const d of loaded.specErrors) {
      assert.ok(d.range, `${where}: "${d.title}" has no position`);
      assert.equal(d.range.file, file);
      assert.ok(
        d.range.start.line >= 1 && d.range.start.line <= lines + 1,
        `${where}: line ${d.range.start.line}`,
      );
      assert.ok(d.range.start.col >= 1, `${where}: col ${d.range.start.col}`);
      assert.ok(
        renderDiagnostic(d, loaded.sources).join("\n").includes(`${file}:${d.range.start.line}:`),
      );
    }
    const scenarios = loaded.scenarios.map((s) => runScenario(s));
    const code = exitCode({
      scenarios,
      specErrors: loaded.specErrors,
      sources: loaded.sources,
      focused: false,
    });
    assert.equal(code, 2, where);
  }
  assert.equal(n, 1000);
  // Every kind of mutation was exercised.
  for (const name of names) {
    assert.ok((used.get(name) ?? 0) > 0, `mutation "${name}" never applied`);
  }
});
