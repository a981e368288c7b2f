/**
 * The SVA area: processes (`processes:`) bound to SMMUv3 masters and VT-d devices by PASID,
 * the mm-notifier paths, and kernel-VA invalidation with its deferred work.
 *
 * ```yaml
 * processes:
 *   p1: {}                                  # an mm; its PASID comes with the first bind
 * steps:
 *   - bind: { device: acc0, process: p1 }
 *   - mm_invalidate: { process: p1, start: 0x400000, end: 0x402000 }
 *   - kernel_pt_free: { atomic: true }      # vfree() freed a kernel page-table page
 *   - run_deferred: {}                      # the kworker runs: the IOMMU flush shows here
 *     expect: { sva: { present: true, pending: 0 } }
 *   - mm_release: { process: p1 }           # exit_mmap()
 *   - unbind: { device: acc0, process: p1 }
 * ```
 *
 * The architecture follows the IOMMUs: x86-64 when the spec has VT-d units (kernel
 * page-table frees deferred, PAGE_OFFSET 0xffff888000000000), else arm64 (freed at once).
 * The `sva` variant family picks the kernel-VA design (`mainline`, `v2-work`, `did-flush`).
 * @module
 */

import { z } from "zod";
import { isErr } from "../../lib/errno.ts";
import { warn } from "../../lib/events.ts";
import {
  flushScheduledWork,
  kernelPtFree,
  mmCreate,
  mmExit,
  mmuNotifierArchInvalidateSecondaryTlbs,
  svaBindDevice,
  type SvaDev,
  svaHandleOf,
  type SvaSystem,
  svaSystemCreate,
  svaUnbindDevice,
  type SvaVariant,
} from "../../lib/sva/mod.ts";
import type { VtdVariant } from "../../lib/drivers/intel/variant.ts";
import { suggest } from "../../lib/suggest.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec } from "../load.ts";
import { Name, U64 } from "../schema.ts";
import type { ExpectExt, Mismatch } from "../expect_ext.ts";
import type { Diagnostic, SpecPath } from "../types.ts";
import { defineVerb } from "../verbs/verb.ts";
import type { World } from "../world.ts";
import type { Area } from "./area.ts";

/** A process (mm) SVA can bind. */
export const ProcessDecl = z.strictObject({
  pgd: U64.optional().meta({
    description: "physical address of its page-table root, which SMMUv3 CDs point at",
  }),
});

/** `processes:` of a spec. */
export const ProcessesDecl = z.record(Name, ProcessDecl).optional().meta({
  description: "processes (mm) that SVA binds to devices, by name",
});

const PROCESS_VERBS = new Set(["bind", "unbind", "mm_invalidate", "mm_release"]);
const DEVICE_VERBS = new Set(["bind", "unbind"]);

type Ctx = { readonly locator: LoadedSpec["locator"]; readonly diags: Diagnostic[] };

/** The SVA part of a World, or a TypeError (an invspec bug). */
export function svaOf(world: World): NonNullable<World["sva"]> {
  if (!world.sva) throw new TypeError("invspec bug: no SVA model in this World");
  return world.sva;
}

function processOf(world: World, name: string) {
  const mm = svaOf(world).mms.get(name);
  if (!mm) throw new TypeError(`invspec bug: no process "${name}"`);
  return mm;
}

function svaDevOf(world: World, name: string): SvaDev {
  const d = world.devices[name];
  const master = d?.kind === "smmuv3" ? world.smmuv3?.masters.get(name) : undefined;
  if (master) return { kind: "smmuv3", name, master };
  const dev = d?.kind === "vtd" ? world.vtd?.devices.get(name) : undefined;
  if (dev) return { kind: "vtd", name, dev };
  throw new TypeError(`invspec bug: device "${name}" cannot be bound`);
}

function checkProcessRef(ctx: Ctx, spec: LoadedSpec, step: LoadedStep, exited: Set<string>) {
  const a = step.args as { process?: string };
  if (typeof a.process !== "string") return;
  const declared = Object.keys(spec.head.processes ?? {});
  const at = [...step.path, step.verb, "process"];
  if (!declared.includes(a.process)) {
    const near = suggest(a.process, declared);
    specError(ctx, at, `No process named "${a.process}"`, {
      label: near ? `did you mean "${near}"?` : undefined,
      fixme: declared.length ? `declared: ${declared.join(", ")}` : "declare it under processes:",
    });
    return;
  }
  if (step.verb === "bind" && exited.has(a.process)) {
    specError(ctx, at, `Process "${a.process}" has exited (mm_release) and cannot be bound`);
  }
  if (step.verb === "mm_release") exited.add(a.process);
}

function checkDeviceKind(ctx: Ctx, spec: LoadedSpec, step: LoadedStep): void {
  const name = (step.args as { device?: string }).device;
  const d = name === undefined ? undefined : spec.head.devices?.[name];
  if (!d) return;
  const kind = spec.head.iommus[d.iommu]?.kind;
  if (kind !== "smmuv3" && kind !== "vtd") {
    specError(ctx, [...step.path, step.verb, "device"], `Device "${name}" cannot be bound`, {
      label: `${d.iommu} is ${kind}: SVA needs an SMMUv3 or VT-d device`,
    });
  }
}

type LoadedStep = LoadedSpec["steps"][number];

// Process names in `sva:` expectations must be declared.
function checkExpectNames(ctx: Ctx, spec: LoadedSpec, step: LoadedStep): void {
  const declared = Object.keys(spec.head.processes ?? {});
  for (const b of step.expect ?? []) {
    for (const x of b.ext) {
      if (x.key !== "sva") continue;
      const v = x.value as SvaExpect;
      const named = [
        ...(v.mms ?? []).map((n, i) => [n, [...x.path, "mms", i]] as const),
        ...Object.keys(v.pasid ?? {}).map((n) => [n, [...x.path, "pasid", n]] as const),
      ];
      for (const [n, at] of named) {
        if (declared.includes(n)) continue;
        const near = suggest(n, declared);
        specError(ctx, at, `No process named "${n}"`, {
          key: at.at(-2) === "pasid",
          label: near ? `did you mean "${near}"?` : undefined,
        });
      }
    }
  }
}

// A range the kernel never passes: empty or reversed (an mm range ends after its start).
function checkRange(ctx: Ctx, step: LoadedStep): void {
  if (step.verb !== "mm_invalidate" && step.verb !== "kernel_pt_free") return;
  const a = step.args as { start?: bigint; end?: bigint };
  if (a.start === undefined || a.end === undefined || a.end > a.start) return;
  specError(ctx, [...step.path, step.verb, "end"], `Invalid ${step.verb}: end is not after start`, {
    fixme: "end is the first byte after the range (exclusive)",
  });
}

function check(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx: Ctx = { locator: spec.locator, diags };
  const exited = new Set<string>();
  for (const step of spec.steps) {
    checkRange(ctx, step);
    if (PROCESS_VERBS.has(step.verb)) checkProcessRef(ctx, spec, step, exited);
    if (DEVICE_VERBS.has(step.verb)) checkDeviceKind(ctx, spec, step);
    checkExpectNames(ctx, spec, step);
  }
}

function build(world: World, spec: LoadedSpec): void {
  const vtd = Object.values(spec.head.iommus).some((i) => i.kind === "vtd");
  const sys: SvaSystem = svaSystemCreate(world.log, {
    variant: world.variants["sva"] as SvaVariant,
    arch: vtd ? "x86_64" : "arm64",
    smmu: world.smmuv3,
    vtdVariant: world.variants["intel"] as VtdVariant | undefined,
  });
  const mms = new Map<string, ReturnType<typeof mmCreate>>();
  let pgd = 0x7_0000_0000n;
  for (const [name, p] of Object.entries(spec.head.processes ?? {})) {
    mms.set(name, mmCreate(name, { pgd: p.pgd ?? pgd }));
    pgd += 0x1000n;
  }
  world.sva = { sys, mms };
}

const Process = { process: Name.meta({ description: "a declared process" }) };
const Bond = { device: Name.meta({ description: "an SMMUv3 master or VT-d device" }), ...Process };

/** The SVA verbs. */
export const SVA_VERBS = [
  defineVerb({
    name: "bind",
    doc: "iommu_sva_bind_device(): bind a process to a device at the process's PASID",
    schema: z.strictObject(Bond),
    refs: { device: "devices" },
    apply(world, a) {
      const { sys } = svaOf(world);
      const r = svaBindDevice(sys, {
        dev: svaDevOf(world, a.device),
        mm: processOf(world, a.process),
      });
      if (isErr(r)) return { returns: r.errno };
      return { values: { pasid: r.domain.mm.iommuMm?.pasid, domain: r.domain.name } };
    },
  }),
  defineVerb({
    name: "unbind",
    doc: "iommu_sva_unbind_device(): drop one bind of a device to a process",
    schema: z.strictObject(Bond),
    refs: { device: "devices" },
    apply(world, a) {
      const { sys } = svaOf(world);
      const h = svaHandleOf(sys, { dev: a.device, mm: processOf(world, a.process) });
      if (!h) {
        warn(world.log, "iommu_sva_unbind_device", `${a.device} is not bound to ${a.process}`);
        return {};
      }
      svaUnbindDevice(sys, h);
      return {};
    },
  }),
  defineVerb({
    name: "mm_invalidate",
    doc: "the CPU changed [start, end) of a process: its mmu notifiers reach every SVA domain",
    schema: z.strictObject({
      ...Process,
      start: U64,
      end: U64.meta({ description: "first byte after the range; start 0, end 2^64-1: all" }),
    }),
    apply(world, a) {
      const { sys } = svaOf(world);
      mmuNotifierArchInvalidateSecondaryTlbs(sys, processOf(world, a.process), a);
      return {};
    },
  }),
  defineVerb({
    name: "mm_release",
    doc: "the process exits (exit_mmap()): each SVA domain's notifier release, then none",
    schema: z.strictObject(Process),
    apply(world, a) {
      mmExit(svaOf(world).sys, processOf(world, a.process));
      return {};
    },
  }),
  defineVerb({
    name: "kernel_pt_free",
    doc: "a kernel page-table page is freed (vfree()); x86 defers it and its IOMMU flush",
    schema: z.strictObject({
      start: U64.optional().meta({
        description: "first kernel VA it mapped (default PAGE_OFFSET)",
      }),
      end: U64.optional().meta({ description: "end of that range, exclusive (default 2^64-1)" }),
      atomic: z.boolean().optional().meta({
        description: "the caller is in atomic context (matters to the v2-work variant only)",
      }),
    }),
    apply(world, a) {
      const page = kernelPtFree(svaOf(world).sys, a);
      return { values: { page } };
    },
  }),
  defineVerb({
    name: "run_deferred",
    doc: "the system workqueue runs every pending item (deferred kernel-VA flushes)",
    schema: z.strictObject({}),
    apply(world) {
      return { values: { ran: flushScheduledWork(svaOf(world).sys) } };
    },
  }),
] as const;

/** What an `sva:` expectation may say about the system after the step. */
const SvaExpectSchema = z.strictObject({
  present: z.boolean().optional(),
  mms: z.array(Name).optional(),
  pasid: z.record(Name, z.union([z.number().int().min(0), z.null()])).optional(),
  pending: z.number().int().min(0).optional(),
  queued_pages: z.number().int().min(0).optional(),
  freed_pages: z.number().int().min(0).optional(),
});

const SVA_EXPECT_KEYS = [
  "present",
  "mms",
  "pasid",
  "pending",
  "queued_pages",
  "freed_pages",
] as const;

type SvaExpect = z.output<typeof SvaExpectSchema> & { readonly path: SpecPath };

function actualOf(world: World): Required<z.output<typeof SvaExpectSchema>> {
  const { sys, mms } = svaOf(world);
  return {
    present: sys.present,
    mms: sys.mms.map((m) => m.name),
    pasid: Object.fromEntries([...mms].map(([n, m]) => [n, m.iommuMm?.pasid ?? null])),
    pending: sys.workqueue.length,
    queued_pages: sys.kernelPgtableList.length,
    freed_pages: sys.freedPtPages,
  };
}

/** The `sva` expectation key: the iommu core's SVA state after the step. */
export const SVA_EXPECT: ExpectExt = {
  doc: "SVA state: { present, mms (newest first), pasid: { p: n | null }, pending (work " +
    "items), queued_pages, freed_pages (kernel page-table pages) }",
  parse(raw, path, ctx) {
    const r = SvaExpectSchema.safeParse(raw);
    if (r.success) return { ...r.data, path };
    for (const issue of r.error.issues) {
      const at = [...path, ...issue.path.map((k) => String(k))];
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          const near = suggest(k, SVA_EXPECT_KEYS);
          specError(ctx, [...at, k], `Cannot read sva: unknown key "${k}"`, {
            key: true,
            label: near ? `did you mean "${near}"?` : undefined,
            fixme: `keys: ${SVA_EXPECT_KEYS.join(", ")}`,
          });
        }
      } else specError(ctx, at, `Cannot read sva: ${issue.message}`);
    }
    return undefined;
  },
  check(world, parsed) {
    const want = parsed as SvaExpect;
    const got = actualOf(world);
    const out: Mismatch[] = [];
    for (const k of SVA_EXPECT_KEYS) {
      if (want[k] === undefined) continue;
      const w = k === "pasid"
        ? Object.fromEntries(Object.keys(want.pasid ?? {}).map((p) => [p, got.pasid[p] ?? null]))
        : got[k];
      if (JSON.stringify(want[k]) !== JSON.stringify(w)) {
        out.push({
          path: [...want.path, k],
          title: `sva.${k} is ${JSON.stringify(w)}, expected ${JSON.stringify(want[k])}`,
        });
      }
    }
    return out;
  },
};

/** The SVA area. */
export const SVA_AREA: Area = { name: "sva", check, build, expect: { sva: SVA_EXPECT } };
