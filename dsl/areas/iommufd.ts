/**
 * The iommufd area: the `iommufd:` objects of a scenario (IOAS, bound devices, paging and
 * nested HWPTs, vIOMMUs, vDEVICEs), the IOMMU_HWPT_INVALIDATE verbs `hwpt_invalidate` and
 * `viommu_invalidate`, and the expectations on the selftest mock caches (`iotlb`,
 * `dev_cache`), on the driver op calls (`op_calls`) and on raw commands a vSMMU forwarded
 * (`raw_cmds`). The commands a vSMMU issues land on its SMMU's queue, and a VT-d nested
 * HWPT's flushes go through the VT-d model's cache tags onto the unit's queue; both are
 * matched like any other commands. The variant family `iommufd` picks the core handler:
 * `core-loop` (default, the series) or `driver-loop` (before it).
 * @module
 */

import { ioctlIo, IOMMU_HWPT_INVALIDATE, IOMMUFD_TYPE } from "../../lib/iommufd/mod.ts";
import { IOMMUFD_CMD_BASE, IOMMUFD_CMD_LAST } from "../../lib/iommufd/uapi.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec, LoadedStep } from "../load.ts";
import type { Diagnostic } from "../types.ts";
import type { Area } from "./area.ts";
import { iommufdBuild } from "./iommufd_build.ts";
import { type CheckCtx, checkObjects, unknownName } from "./iommufd_check.ts";
import { iommufdIdOf, iommufdLayoutOf, type IommufdObjectType } from "./iommufd_decl.ts";
import { entriesLayout, LAYOUT_FIELDS, LAYOUT_NAMES } from "./iommufd_entries.ts";
import type { CacheLine } from "./iommufd_expect.ts";
import { IOMMUFD_EXPECT } from "./iommufd_expect.ts";
import { type InvalidateArgs, invalidateArgsOf } from "./iommufd_verbs.ts";

export { IOMMUFD_VERBS } from "./iommufd_verbs.ts";

// An iommufd ioctl other than IOMMU_HWPT_INVALIDATE: the model runs only that one.
function isOtherIommufdIoctl(ioctl: number): boolean {
  const nr = ioctl & 0xff;
  return ioctl !== IOMMU_HWPT_INVALIDATE && ioctl === ioctlIo(IOMMUFD_TYPE, nr) &&
    nr >= IOMMUFD_CMD_BASE && nr <= IOMMUFD_CMD_LAST;
}

// The declared object a target names (by name, or by the ID declaration order gives it).
function targetName(spec: LoadedSpec, target: string | number): string | undefined {
  if (typeof target === "string") return target;
  return Object.keys(spec.head.iommufd ?? {}).find((n) => iommufdIdOf(spec.head, n) === target);
}

function checkEntries(ctx: CheckCtx, step: LoadedStep, a: InvalidateArgs, key: string): void {
  const base = [...step.path, step.verb];
  if (a.entries && a.data) {
    specError(ctx, [...base, "data"], "Give the array as entries or as data, not both");
  }
  if (a.data && a.entry_num === undefined) {
    specError(ctx, [...base, "data"], "With raw data, say how many entries it holds", {
      fixme: "add entry_num",
    });
  }
  const name = targetName(ctx.spec, a.target);
  const own = name ? iommufdLayoutOf(ctx.spec.head, name) : undefined;
  const layout = entriesLayout(a.entries ?? [], own);
  if (!a.entries?.length || typeof layout === "string") return;
  const fields = Object.entries(LAYOUT_FIELDS)
    .map(([k, f]) => `${LAYOUT_NAMES[k as keyof typeof LAYOUT_NAMES]}: ${f.join(", ")}`);
  specError(
    ctx,
    [...base, "entries"],
    layout.length ? "Cannot tell which entry struct these entries are" : "Entries mix structs",
    {
      label: layout.length
        ? `${key} has no entry struct of its own; name a field that tells`
        : "every entry of a request has the same layout",
      fixme: fields.join("; "),
    },
  );
}

function checkStep(ctx: CheckCtx, step: LoadedStep): void {
  const a = invalidateArgsOf(step.verb, step.args);
  if (!a) return;
  const key = step.verb === "hwpt_invalidate" ? "hwpt" : "viommu";
  const names = Object.keys(ctx.spec.head.iommufd ?? {});
  if (typeof a.target === "string" && !names.includes(a.target)) {
    unknownName(ctx, [...step.path, step.verb, key], "iommufd object", {
      name: a.target,
      known: names,
    });
    return;
  }
  if (!ctx.spec.head.iommufd) {
    specError(ctx, [...step.path, step.verb], `${step.verb} needs an iommufd: section`, {
      key: true,
      fixme: "declare the objects under iommufd: (an empty map for none)",
    });
    return;
  }
  checkEntries(ctx, step, a, key);
  if (a.ioctl !== undefined && isOtherIommufdIoctl(a.ioctl)) {
    specError(ctx, [...step.path, step.verb, "ioctl"], "Only IOMMU_HWPT_INVALIDATE is modelled", {
      label: `0x${a.ioctl.toString(16)} is another iommufd ioctl`,
      fixme: "an ioctl number outside iommufd's gives ENOTTY",
    });
  }
  const name = targetName(ctx.spec, a.target);
  if (a.cmdq_fault && (!name || iommufdLayoutOf(ctx.spec.head, name) !== "arm_smmuv3")) {
    specError(ctx, [...step.path, step.verb, "cmdq_fault"], "cmdq_fault needs an ARM vIOMMU", {
      label: "only the vSMMU issues commands on a queue",
    });
  }
}

const CACHE_OWNERS: Readonly<Record<string, IommufdObjectType>> = {
  iotlb: "hwpt_nested",
  dev_cache: "device",
};

// Cache expectations name selftest objects; op_calls and raw_cmds belong to the two verbs.
function checkExpect(ctx: CheckCtx, step: LoadedStep): void {
  const head = ctx.spec.head;
  const mine = invalidateArgsOf(step.verb, step.args) !== undefined;
  for (const b of step.expect ?? []) {
    for (const x of b.ext) {
      if ((x.key === "op_calls" || x.key === "raw_cmds") && !mine) {
        specError(ctx, x.path, `${x.key} is an expectation of hwpt_invalidate/viommu_invalidate`, {
          key: true,
        });
      }
      const type = CACHE_OWNERS[x.key];
      if (!type) continue;
      const candidates = Object.entries(head.iommufd ?? {}).filter(([n, o]) =>
        o.type === type &&
        (type === "device" ? o.bind === undefined : iommufdLayoutOf(head, n) === "selftest")
      ).map(([n]) => n);
      for (const line of x.value as CacheLine[]) {
        if (candidates.includes(line.name)) continue;
        const what = type === "device" ? "selftest mock device" : "selftest nested HWPT";
        unknownName(ctx, line.path, what, { name: line.name, known: candidates, key: true });
      }
    }
  }
}

/** The iommufd area. */
export const IOMMUFD_AREA: Area = {
  name: "iommufd",
  check(spec: LoadedSpec, diags: Diagnostic[]) {
    const ctx: CheckCtx = { spec, locator: spec.locator, diags };
    checkObjects(ctx);
    for (const step of spec.steps) {
      checkStep(ctx, step);
      checkExpect(ctx, step);
    }
  },
  build(world, spec) {
    iommufdBuild(world, spec);
  },
  expect: IOMMUFD_EXPECT,
};
