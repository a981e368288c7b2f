/**
 * The hardware area's expectations.
 *
 * `dma:` what a `dma` step got: `fault` (any fault), or a map of `pa` (output address),
 * `fault` (an SMMU event name or a VT-d fault of lib/hw/vtd/translate.ts, or `any`) and
 * `from` (`atc` or `devtlb` for the device's own cache, `iotlb`, `walk`, `bypass`), e.g.
 * `dma: { pa: 0x80040000, from: atc }`.
 *
 * `stale:` the findings the stale-translation check makes after this step, one pin line each
 * (`ATC nic0 pasid=3 iova=0x41000`; unwritten fields match anything). Every finding of the
 * step must be listed and every line must match one; `stale: []` says there are none.
 * @module
 */

import {
  type Finding,
  findingLine,
  findingMatches,
  findingParse,
  type FindingPattern,
} from "../../lib/check/finding.ts";
import { SMMU_FAULTS } from "../../lib/hw/smmuv3/translate.ts";
import { VTD_FAULTS } from "../../lib/hw/vtd/translate.ts";
import { suggest } from "../../lib/suggest.ts";
import { specError } from "../expect.ts";
import type { ExpectExt, Mismatch } from "../expect_ext.ts";
import { U64 } from "../schema.ts";
import type { SpecPath } from "../types.ts";

/** Where a DMA's translation can come from (`atc`: an SMMUv3 device's, `devtlb`: VT-d's). */
export const DMA_SOURCES = ["atc", "devtlb", "iotlb", "walk", "bypass"] as const;

/** Every fault name a DMA can report, SMMUv3 and VT-d. */
const DMA_FAULTS: readonly string[] = [...new Set<string>([...SMMU_FAULTS, ...VTD_FAULTS])];

interface DmaWant {
  readonly pa?: bigint;
  readonly fault?: string;
  readonly from?: string;
  readonly path: SpecPath;
}

const DMA_KEYS = ["pa", "fault", "from"];

function parseDmaMap(
  raw: Record<string, unknown>,
  path: SpecPath,
  ctx: Parameters<ExpectExt["parse"]>[2],
): DmaWant | undefined {
  const want: { pa?: bigint; fault?: string; from?: string; path: SpecPath } = { path };
  let ok = true;
  const fail = (k: string, title: string, label?: string) => {
    specError(ctx, [...path, k], title, { label });
    ok = false;
  };
  for (const [k, v] of Object.entries(raw)) {
    if (k === "pa") {
      const r = U64.safeParse(v);
      if (r.success) want.pa = r.data;
      else fail(k, "Cannot read dma.pa: expected an address");
    } else if (k === "fault") {
      const names: readonly string[] = ["any", ...DMA_FAULTS];
      if (typeof v === "string" && names.includes(v)) want.fault = v;
      else fail(k, `Cannot read dma.fault: "${v}" is not a fault`, nearText(v, names));
    } else if (k === "from") {
      if (typeof v === "string" && (DMA_SOURCES as readonly string[]).includes(v)) want.from = v;
      else {fail(
          k,
          `Cannot read dma.from: expected ${DMA_SOURCES.join(", ")}`,
          nearText(v, DMA_SOURCES),
        );}
    } else {
      specError(ctx, [...path, k], `Unknown dma field "${k}"`, {
        key: true,
        label: nearText(k, DMA_KEYS),
        fixme: `dma takes ${DMA_KEYS.join(", ")}`,
      });
      ok = false;
    }
  }
  return ok ? want : undefined;
}

function nearText(v: unknown, names: readonly string[]): string | undefined {
  const near = typeof v === "string" ? suggest(v, names) : undefined;
  return near ? `did you mean "${near}"?` : undefined;
}

function dmaText(v: Record<string, unknown>): string {
  if (typeof v.fault === "string") return `faulted with ${v.fault}`;
  return `reached 0x${(v.pa as bigint).toString(16)} (from ${v.from})`;
}

/** The `dma` expectation key. */
export const DMA_EXPECT: ExpectExt = {
  doc: "a dma step's result: fault, or { pa, fault, from }",
  parse(raw, path, ctx) {
    if (raw === "fault") return { fault: "any", path };
    if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
      return parseDmaMap(raw as Record<string, unknown>, path, ctx);
    }
    specError(ctx, path, "Cannot read dma: expected fault or { pa, fault, from }");
  },
  check(_world, parsed, outcome) {
    const want = parsed as DmaWant;
    const v = outcome.values;
    if (!v || !("fault" in v)) return [{ path: want.path, title: "dma: this step is not a dma" }];
    const fault = v.fault as string | null;
    const out: Mismatch[] = [];
    const bad = (title: string) => out.push({ path: want.path, title });
    if (
      want.fault !== undefined && (fault === null || (want.fault !== "any" && fault !== want.fault))
    ) {
      bad(`the DMA ${dmaText(v)}, expected ${want.fault === "any" ? "a fault" : want.fault}`);
    }
    if (want.pa !== undefined && (fault !== null || v.pa !== want.pa)) {
      bad(`the DMA ${dmaText(v)}, expected 0x${want.pa.toString(16)}`);
    }
    if (want.from !== undefined && v.from !== want.from) {
      bad(`the DMA ${dmaText(v)}, expected it from ${want.from}`);
    }
    return out;
  },
};

interface StaleWant {
  readonly lines: readonly { readonly pattern: FindingPattern; readonly path: SpecPath }[];
  readonly path: SpecPath;
}

function findingDetail(f: Finding): string[] {
  return [...f.notes, f.fix, `to expect it: ${findingLine(f, { short: true })}`];
}

/** The `stale` expectation key. */
export const STALE_EXPECT: ExpectExt = {
  doc: "the stale-translation check's findings after the step, one pin line each",
  parse(raw, path, ctx) {
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === "string")) {
      specError(
        ctx,
        path,
        'Cannot read stale: expected a list of lines such as "ATC nic0 iova=0x40000"',
      );
      return;
    }
    const lines: { pattern: FindingPattern; path: SpecPath }[] = [];
    let ok = true;
    raw.forEach((text: string, i) => {
      const p = findingParse(text);
      if (typeof p === "string") {
        const [title, label] = p.split("; ");
        specError(ctx, [...path, i], `Cannot read stale finding: ${title}`, { label });
        ok = false;
      } else lines.push({ pattern: p, path: [...path, i] });
    });
    return ok ? { lines, path } : undefined;
  },
  check(world, parsed) {
    const want = parsed as StaleWant;
    const left = [...(world.hw?.findings ?? [])];
    const out: Mismatch[] = [];
    for (const l of want.lines) {
      const i = left.findIndex((f) => findingMatches(l.pattern, f));
      if (i >= 0) left.splice(i, 1);
      else {
        out.push({
          path: l.path,
          title: "the check did not find this stale entry",
          detail: left.length
            ? ["findings not yet matched:", ...left.map((f) => `  ${findingLine(f)}`)]
            : ["no other finding"],
        });
      }
    }
    for (const f of left) {
      out.push({
        path: want.path,
        title: `stale: does not list what the check found: ${f.what}`,
        detail: findingDetail(f),
      });
    }
    return out;
  },
};
