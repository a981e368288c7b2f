/**
 * The command line: `invspec run|explain|schema|list`. argv → run → reporters → exit code.
 * The only caller of `Deno.exit`; everything below it returns data.
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { ansiPaint } from "./color.ts";
import { explain } from "./explain.ts";
import { NO_PAINT, type Paint, renderDiagnostic } from "./frame.ts";
import { specJsonSchema } from "./json_schema.ts";
import { countResults, EXIT, exitCode, type RunReport, summaryLine } from "./report.ts";
import { type ReporterName, REPORTERS } from "./reporters/mod.ts";
import { parseShard, type Selection, selectScenarios } from "./select.ts";
import { loadSuite, runScenario, type ScenarioResult } from "./suite.ts";
import { applyUpdates, type UpdateRequest } from "./update.ts";
import { type VerbDef, VERBS } from "./verbs/mod.ts";

/** The package version printed by `--version`. */
export const VERSION = "0.1.0";

const USAGE = `invspec ${VERSION}: IOMMU cache-invalidation scenarios

usage:
  invspec run [paths...] [options]   run specs (files or folders; default examples/)
  invspec list [paths...] [options]  list the scenarios that would run, with tags
  invspec explain <spec> [options]   each step's commands with words and decoded fields
  invspec schema [--out file]        print (or write) the JSON Schema of .inv.yaml files
  invspec verbs                      the step verbs with their arguments

options:
  --filter <text|/re/>    only scenarios whose "file › name [cell]" matches
  --tag <a,!b>            only scenarios with tag a and without b; repeat to OR
  --shard <i/n>           the i-th of n shards (scenario granularity, 1-based)
  --reporter <name[=file]>  pretty (default), dot, tap, ktap, junit, json; repeatable;
                          with =file the report is written there
  --list                  list the selected scenarios with their tags; run nothing
  --trace                 print every event of every step (pretty reporter)
  --update                rewrite failing command lists with the actual commands
  --budget <n>            loop budget before a model is declared hung (default 1000000)
  --no-color              never colour (also NO_COLOR=1)
  -h, --help              this text
  --version               the version

exit codes: 0 passed, 1 expectation failures, 2 spec errors, 3 internal error, 4 usage`;

/** Thrown for bad command lines: printed with the usage hint, exit 4. */
class UsageError extends Error {}

/** Recursively lists `*.inv.yaml` / `*.inv.yml` files under `path` (or `path` itself). */
async function specFiles(path: string): Promise<string[]> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`Cannot read "${path}": no such file or folder`);
  if (info.isFile) return [path];
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    const p = join(path, e.name);
    if (e.isDirectory) out.push(...await specFiles(p));
    else if (/\.inv\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function readSpecs(paths: readonly string[]): Promise<{ file: string; text: string }[]> {
  const files = [...new Set((await Promise.all(paths.map(specFiles))).flat())].sort();
  return await Promise.all(
    files.map(async (file) => ({ file, text: await Deno.readTextFile(file) })),
  );
}

/** Writes `text` to `path` atomically: a temporary file in the same folder, then a rename. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.invspec-tmp-${Deno.pid}-${Math.floor(performance.now())}`);
  await Deno.writeTextFile(tmp, text);
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        filter: { type: "string" },
        tag: { type: "string", multiple: true },
        shard: { type: "string" },
        reporter: { type: "string", multiple: true },
        trace: { type: "boolean" },
        list: { type: "boolean" },
        update: { type: "boolean" },
        budget: { type: "string" },
        out: { type: "string" },
        "no-color": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type Output = { readonly out: (s: string) => void; readonly err: (s: string) => void };

async function runCommand(
  cmd: string,
  args: ReturnType<typeof parse>,
  io: Output,
  paint: Paint,
): Promise<number> {
  const v = args.values;
  const paths = args.positionals.slice(1);
  const sel: Selection = {
    filter: v.filter,
    tags: v.tag,
    shard: v.shard === undefined ? undefined : (() => {
      const s = parseShard(v.shard);
      if (typeof s === "string") throw new UsageError(s);
      return s;
    })(),
  };
  const budget = v.budget === undefined ? undefined : Number(v.budget);
  if (budget !== undefined && !(Number.isInteger(budget) && budget > 0)) {
    throw new UsageError(`--budget takes a positive integer, not "${v.budget}"`);
  }
  if (cmd === "explain" && paths.length !== 1) throw new UsageError("explain takes one spec file");
  const loaded = loadSuite(await readSpecs(paths.length ? paths : ["examples"]));
  const selected = selectScenarios(loaded.scenarios, sel);
  if (cmd === "list" || v.list) {
    for (const d of loaded.specErrors) {
      io.out(renderDiagnostic(d, loaded.sources, paint).join("\n"));
    }
    for (const s of selected) {
      const tags = s.spec.head.tags?.length ? `  {${s.spec.head.tags.join(", ")}}` : "";
      io.out(`${s.fullName}${tags}`);
    }
    io.out(`${selected.length} scenarios`);
    return loaded.specErrors.length ? EXIT.spec : EXIT.ok;
  }
  if (cmd === "explain") {
    for (const d of loaded.specErrors) {
      io.out(renderDiagnostic(d, loaded.sources, paint).join("\n"));
    }
    for (const s of selected) io.out(explain(runScenario(s, { budget })).join("\n"));
    return loaded.specErrors.length ? EXIT.spec : EXIT.ok;
  }
  const updateHint = paths.length ? paths.join(" ") : "examples/";
  let results = selected.map((s) => runScenario(s, { budget, updateHint }));
  if (v.update) {
    if (Deno.env.get("CI")) {
      throw new UsageError("--update refuses to rewrite specs when CI is set");
    }
    const rewritten = await update(results, loaded.sources, io);
    if (rewritten.size) {
      const again = loadSuite(
        [...rewritten].map((file) => ({ file, text: loaded.sources.get(file)! })),
      );
      const rerun = new Map(selectScenarios(again.scenarios, sel).map((s) => [s.fullName, s]));
      results = results.map((r) => {
        const s = rerun.get(r.scenario.fullName);
        return s ? runScenario(s, { budget, updateHint }) : r;
      });
      for (const [f, t] of again.sources) loaded.sources.set(f, t);
      loaded.specErrors.push(...again.specErrors);
    }
  }
  const report: RunReport = {
    scenarios: results,
    specErrors: loaded.specErrors,
    sources: loaded.sources,
    focused: selected.some((s) => s.spec.head.only),
  };
  await writeReports(report, v.reporter ?? ["pretty"], { paint, trace: v.trace ?? false }, io);
  if (selected.length === 0 && loaded.specErrors.length === 0) io.out("no scenario selected");
  io.out(summaryLine(countResults(report)));
  return exitCode(report);
}

async function writeReports(
  report: RunReport,
  specs: readonly string[],
  opts: { paint: Paint; trace: boolean },
  io: Output,
): Promise<void> {
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const name = (eq < 0 ? spec : spec.slice(0, eq)) as ReporterName;
    if (!Object.hasOwn(REPORTERS, name)) {
      throw new UsageError(
        `Unknown reporter "${name}": choose ${Object.keys(REPORTERS).join(", ")}`,
      );
    }
  }
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const name = (eq < 0 ? spec : spec.slice(0, eq)) as ReporterName;
    if (eq < 0) {
      const text = REPORTERS[name](report, opts);
      if (text) io.out(text);
    } else {
      await writeAtomic(spec.slice(eq + 1), REPORTERS[name](report, { trace: opts.trace }) + "\n");
    }
  }
}

/**
 * The rewrite requests of a run, by file: every checked command list of a failing step,
 * together with the same list's results in the other matrix cells (which must agree).
 */
export function collectUpdates(results: readonly ScenarioResult[]): Map<string, UpdateRequest[]> {
  const all: (UpdateRequest & { file: string; key: string })[] = [];
  for (const r of results) {
    const { file, doc } = r.scenario.spec;
    for (const st of r.steps) {
      for (const target of st.lists) {
        const key = `${file}\0${doc}\0${JSON.stringify(target.path)}`;
        all.push({ file, key, doc, target, what: `step ${st.title}` });
      }
    }
  }
  const failing = new Set(all.filter((u) => u.target.failed).map((u) => u.key));
  const byFile = new Map<string, UpdateRequest[]>();
  for (const u of all) {
    if (!failing.has(u.key)) continue;
    byFile.set(u.file, [...(byFile.get(u.file) ?? []), {
      doc: u.doc,
      target: u.target,
      what: u.what,
    }]);
  }
  return byFile;
}

/** Rewrites failing command lists; returns the files it changed (texts updated in `sources`). */
async function update(
  results: readonly ScenarioResult[],
  sources: Map<string, string>,
  io: Output,
): Promise<Set<string>> {
  const byFile = collectUpdates(results);
  const changed = new Set<string>();
  for (const [file, reqs] of byFile) {
    const { text, changes } = applyUpdates(sources.get(file)!, reqs);
    for (const c of changes) {
      io.out(
        c.done
          ? `updated ${file}:${c.line} ${c.what}`
          : `not updated ${file}:${c.line} ${c.what}: ${c.note}`,
      );
    }
    if (text !== sources.get(file)) {
      await writeAtomic(file, text);
      sources.set(file, text);
      changed.add(file);
    }
  }
  if (byFile.size === 0) io.out("--update: no failing command list to rewrite");
  return changed;
}

/** One block per verb: name, what it does, its arguments (optional ones with `?`). */
export function verbsHelp(): string[] {
  const out: string[] = [];
  for (const v of Object.values(VERBS) as VerbDef[]) {
    const shape = (v.schema as unknown as {
      shape?: Record<string, { safeParse(x: unknown): { success: boolean } }>;
    })
      .shape ?? {};
    const args = Object.entries(shape).map((
      [k, s],
    ) => (s.safeParse(undefined).success ? `${k}?` : k));
    out.push(`${v.name}: { ${args.join(", ")} }`, `    ${v.doc}`);
  }
  return out;
}

/** Runs the CLI with `argv`; returns the exit code. Output goes through `io`. */
export async function main(argv: string[], io: Output = defaultIo()): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`error: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (args.values.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (args.values.version) {
    io.out(`invspec ${VERSION}`);
    return EXIT.ok;
  }
  const cmd = args.positionals[0] ?? "run";
  const colour = !args.values["no-color"] && !Deno.env.get("NO_COLOR") && Deno.stdout.isTerminal();
  const paint = colour ? ansiPaint : NO_PAINT;
  try {
    if (cmd === "verbs") {
      io.out(verbsHelp().join("\n"));
      return EXIT.ok;
    }
    if (cmd === "schema") {
      const text = JSON.stringify(specJsonSchema(), null, 2) + "\n";
      if (args.values.out) await writeAtomic(args.values.out, text);
      else io.out(text.trimEnd());
      return EXIT.ok;
    }
    if (!["run", "list", "explain"].includes(cmd)) {
      if (cmd.includes(".") || cmd.includes("/")) {
        return await runCommand(
          "run",
          { ...args, positionals: ["run", ...args.positionals] },
          io,
          paint,
        );
      }
      throw new UsageError(`Unknown command "${cmd}": use run, list, explain or schema`);
    }
    return await runCommand(cmd, args, io, paint);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n(see invspec --help)`);
      io.out(summaryLine({ passed: 0, failed: 0, skipped: 0 }));
      return EXIT.usage;
    }
    io.err(
      `internal error: invspec crashed; please report this with your spec\n${
        (e as Error).stack ?? e
      }`,
    );
    io.out(summaryLine({ passed: 0, failed: 1, skipped: 0 }));
    return EXIT.internal;
  }
}

function defaultIo(): Output {
  const enc = new TextEncoder();
  return {
    out: (s) => Deno.stdout.writeSync(enc.encode(s + "\n")),
    err: (s) => Deno.stderr.writeSync(enc.encode(s + "\n")),
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
