/**
 * Spec text (or a TS-built object) → validated scenarios with source positions, or
 * diagnostics at `file:line:col`. Every problem of a file is collected, not the first.
 * @module
 */

import { type Document, isMap, isScalar, LineCounter, type Node, parseAllDocuments } from "yaml";
import { suggest } from "../lib/suggest.ts";
import { type SpecHead, SpecSchema } from "./decl.ts";
import { zodDiagnostics } from "./zod_diag.ts";
import { type ExpectBlock, type ExpectCtx, parseExpect, specError } from "./expect.ts";
import type { Diagnostic, SourceLocator, SourceRange, SpecPath } from "./types.ts";
import { BUILTIN_DOMAINS } from "./areas/domain_verbs.ts";
import { EXPECT_KEYS } from "./areas/mod.ts";
import { STEP_KEYS, verbOf, VERBS } from "./verbs/mod.ts";

/** One validated step. */
export interface LoadedStep {
  /** 0-based position in `steps`. */
  readonly index: number;
  readonly verb: string;
  /** Arguments as the verb's schema produced them. */
  readonly args: unknown;
  /** Optional `name:` of the step. */
  readonly label?: string;
  readonly expect?: readonly ExpectBlock[];
  readonly path: SpecPath;
}

/** One validated scenario (a YAML document, or one TS spec object). */
export interface LoadedSpec {
  readonly file: string;
  /** Index of the document in its file. */
  readonly doc: number;
  readonly head: SpecHead;
  readonly steps: readonly LoadedStep[];
  readonly locator: SourceLocator;
}

/** Scenarios that loaded, and the problems of those that did not. */
export interface LoadResult {
  readonly specs: LoadedSpec[];
  readonly diagnostics: Diagnostic[];
}

/** A locator over one YAML document. */
export function yamlLocator(
  file: string,
  text: string,
  doc: Document,
  lc: LineCounter,
): SourceLocator {
  const span = (range: [number, number, number] | undefined): SourceRange => {
    const [a, b] = range ?? [0, 0, 0];
    const s = lc.linePos(a);
    // A multi-line node is shown from its first line.
    const e = lc.linePos(
      Math.max(a, Math.min(b, text.indexOf("\n", a) < 0 ? b : text.indexOf("\n", a))),
    );
    return { file, start: { line: s.line, col: s.col }, end: { line: e.line, col: e.col } };
  };
  const nodeAt = (path: SpecPath): Node | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (node && typeof node === "object" && "range" in node) return node as Node;
    }
    return undefined;
  };
  return {
    file,
    text,
    at: (path) => span(nodeAt(path)?.range ?? undefined),
    keyAt(path) {
      const parent = path.length > 0 ? nodeAt(path.slice(0, -1)) : undefined;
      if (parent && isMap(parent)) {
        const pair = parent.items.find((p) =>
          isScalar(p.key) && String(p.key.value) === String(path.at(-1))
        );
        if (pair && isScalar(pair.key) && pair.key.range) return span(pair.key.range);
      }
      return span(nodeAt(path)?.range ?? undefined);
    },
    valueOffset(path) {
      const node = doc.getIn(path, true);
      return isScalar(node) && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE")
        ? 1
        : 0;
    },
  };
}

/** YAML integers are read as bigint (addresses need 64 bits); small ones become numbers. */
export function normalizeInts(v: unknown): unknown {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normalizeInts);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalizeInts(x);
    return out;
  }
  return v;
}

/** Orders diagnostics by position, so a file's problems read top to bottom. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => (d.range ? d.range.start.line * 10000 + d.range.start.col : 0);
  return diags.sort((a, b) => key(a) - key(b));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function loadStep(
  ctx: ExpectCtx,
  raw: unknown,
  i: number,
  iommuNames: string[],
): LoadedStep | undefined {
  const path = ["steps", i];
  if (!isObj(raw)) {
    specError(ctx, path, "Cannot read step: expected a map with one verb, e.g. { attach: {...} }");
    return;
  }
  const verbs = Object.keys(raw).filter((k) => !(STEP_KEYS as readonly string[]).includes(k));
  const before = ctx.diags.length;
  for (const k of verbs) {
    if (!verbOf(k)) {
      const near = suggest(k, [...Object.keys(VERBS), ...STEP_KEYS]);
      specError(ctx, [...path, k], `Unknown step verb "${k}"`, {
        key: true,
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: `verbs: ${Object.keys(VERBS).join(", ")}`,
      });
    }
  }
  if (ctx.diags.length > before) return;
  if (verbs.length !== 1) {
    specError(
      ctx,
      path,
      verbs.length
        ? `A step has one verb, this one has ${verbs.join(", ")}`
        : "A step needs a verb",
    );
    return;
  }
  const name = verbs[0];
  const verb = verbOf(name)!;
  const argsRaw = raw[name] ?? {};
  const r = verb.schema.safeParse(argsRaw);
  if (!r.success) {
    zodDiagnostics(ctx, r.error.issues, {
      schema: verb.schema,
      data: argsRaw,
      base: [...path, name],
      what: name,
    });
  }
  for (const [arg, coll] of Object.entries(r.success ? verb.refs ?? {} : {})) {
    const ref = (r.data as Record<string, unknown>)[arg];
    const declared = coll === "iommus" ? iommuNames : ctx.names[coll] ?? [];
    if (typeof ref === "string" && !declared.includes(ref)) {
      const near = suggest(ref, declared);
      specError(ctx, [...path, name, arg], `No ${coll.slice(0, -1)} named "${ref}"`, {
        label: near ? `did you mean "${near}"?` : undefined,
        fixme: declared.length ? `declared: ${declared.join(", ")}` : `declare it under ${coll}:`,
      });
    }
  }
  let label: string | undefined;
  if ("name" in raw) {
    if (typeof raw.name === "string") label = raw.name;
    else specError(ctx, [...path, "name"], "Invalid name: expected text");
  }
  const expect = "expect" in raw ? parseExpect(ctx, raw.expect, [...path, "expect"]) : undefined;
  if (ctx.diags.length > before || !r.success) return;
  return { index: i, verb: name, args: r.data, label, expect, path };
}

/** Validates one spec object. */
export function loadSpecObject(obj: unknown, locator: SourceLocator, doc = 0): LoadResult {
  const diags: Diagnostic[] = [];
  const data = normalizeInts(obj);
  const r = SpecSchema.safeParse(data);
  if (!r.success) {
    zodDiagnostics({ locator, diags }, r.error.issues, {
      schema: SpecSchema,
      data,
      base: [],
      what: "the scenario",
    });
  }
  // Steps are checked even when the head has errors, so one run shows every problem.
  const raw = isObj(data) ? data : {};
  const declared = isObj(raw.iommus) ? raw.iommus : {};
  const iommus: Record<string, string> = {};
  for (const [n, d] of Object.entries(declared)) {
    if (isObj(d) && typeof d.kind === "string") iommus[n] = d.kind;
  }
  const names = {
    devices: isObj(raw.devices) ? Object.keys(raw.devices) : [],
    domains: [...(isObj(raw.domains) ? Object.keys(raw.domains) : []), ...BUILTIN_DOMAINS],
  };
  const ctx: ExpectCtx = { iommus, names, locator, diags, ext: EXPECT_KEYS };
  const steps: LoadedStep[] = [];
  (Array.isArray(raw.steps) ? raw.steps : []).forEach((s, i) => {
    const step = loadStep(ctx, s, i, Object.keys(iommus));
    if (step) steps.push(step);
  });
  if (diags.length || !r.success) return { specs: [], diagnostics: sortDiagnostics(diags) };
  return { specs: [{ file: locator.file, doc, head: r.data, steps, locator }], diagnostics: [] };
}

/** Reads every YAML document of a spec file. */
export function loadSpecText(file: string, text: string): LoadResult {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lc,
    intAsBigInt: true,
    uniqueKeys: true,
    prettyErrors: false,
  });
  const specs: LoadedSpec[] = [];
  const diagnostics: Diagnostic[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    diagnostics.push({
      severity: "error",
      title: "Cannot read YAML: unexpected end of stream",
      range: undefined,
    });
  }
  list.forEach((doc, i) => {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const [a, b] = e.pos;
        const s = lc.linePos(a);
        const end = lc.linePos(Math.max(a + 1, Math.min(b, a + 40)));
        diagnostics.push({
          severity: "error",
          title: `Cannot parse YAML: ${
            e.message.split("\n")[0].replace(/ at line \d+, column \d+.*$/, "")
          }`,
          range: {
            file,
            start: { line: s.line, col: s.col },
            end: end.line === s.line
              ? { line: s.line, col: end.col }
              : { line: s.line, col: s.col + 1 },
          },
          label: e.code,
        });
      }
      return;
    }
    if (doc.contents === null) return; // an empty document (e.g. a trailing ---)
    const locator = yamlLocator(file, text, doc, lc);
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      specError({ locator, diags: diagnostics }, [], `Cannot read YAML: ${(e as Error).message}`);
      return;
    }
    const r = loadSpecObject(js, locator, i);
    specs.push(...r.specs);
    diagnostics.push(...r.diagnostics);
  });
  if (list.every((d) => d.contents === null) && diagnostics.length === 0) {
    diagnostics.push({
      severity: "error",
      title: "Cannot load spec: the file holds no scenario",
      range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 2 } },
      fixme: "a spec starts with `invspec: 1` and `name:`",
    });
  }
  return { specs, diagnostics };
}
