/**
 * Load-time checks of the `iommufd:` section: each object uses only its type's fields,
 * names objects declared before it and of the right type, and its drivers fit together
 * (a selftest vIOMMU takes mock devices, an ARM vIOMMU sits on an SMMUv3 S2 nest parent of
 * its device's SMMU, which must support nesting). What the kernel would refuse at object
 * creation is a spec error here, so building the World never fails.
 * @module
 */

import { suggest } from "../../lib/suggest.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec } from "../load.ts";
import type { Diagnostic } from "../types.ts";
import { domainKind } from "./smmuv3.ts";
import {
  IOMMUFD_FIELDS,
  IOMMUFD_REQUIRED,
  iommufdDriverOf,
  type IommufdObjDeclT,
  iommufdObjects,
  type IommufdObjectType,
} from "./iommufd_decl.ts";

/** What the checks pass around. */
export interface CheckCtx {
  readonly spec: LoadedSpec;
  readonly locator: LoadedSpec["locator"];
  readonly diags: Diagnostic[];
}

/** The object types a reference field may name. */
const REF_TYPES: Readonly<Record<string, readonly IommufdObjectType[]>> = {
  ioas: ["ioas"],
  parent: ["hwpt_paging", "viommu"],
  hwpt: ["hwpt_paging"],
  device: ["device"],
  viommu: ["viommu"],
};

function objOf(ctx: CheckCtx, name: string | undefined): IommufdObjDeclT | undefined {
  return name === undefined ? undefined : ctx.spec.head.iommufd?.[name];
}

/** Reports an unknown name with a did-you-mean. */
export function unknownName(
  ctx: CheckCtx,
  path: readonly (string | number)[],
  what: string,
  opts: { readonly name: string; readonly known: readonly string[]; readonly key?: boolean },
): void {
  const near = suggest(opts.name, opts.known);
  specError(ctx, path, `No ${what} named "${opts.name}"`, {
    key: opts.key,
    label: near ? `did you mean "${near}"?` : undefined,
    fixme: opts.known.length ? `declared: ${opts.known.join(", ")}` : `declare it first`,
  });
}

// Fields of other types, missing fields, and references (existence, order, type).
function checkShape(ctx: CheckCtx, name: string, o: IommufdObjDeclT, index: number): boolean {
  const before = ctx.diags.length;
  const names = Object.keys(ctx.spec.head.iommufd ?? {});
  const fields = IOMMUFD_FIELDS[o.type];
  for (const key of Object.keys(o)) {
    if (key === "type" || fields.includes(key)) continue;
    specError(ctx, ["iommufd", name, key], `An object of type ${o.type} has no "${key}"`, {
      key: true,
      fixme: `${o.type} takes ${fields.join(", ") || "no other field"}`,
    });
  }
  for (const key of IOMMUFD_REQUIRED[o.type]) {
    if (o[key as keyof IommufdObjDeclT] === undefined) {
      specError(ctx, ["iommufd", name], `An object of type ${o.type} needs "${key}"`, {
        key: true,
      });
    }
  }
  for (const [key, types] of Object.entries(REF_TYPES)) {
    const ref = o[key as keyof IommufdObjDeclT];
    if (typeof ref !== "string" || !fields.includes(key)) continue;
    const path = ["iommufd", name, key];
    const at = names.indexOf(ref);
    const target = objOf(ctx, ref);
    if (!target) unknownName(ctx, path, "iommufd object", { name: ref, known: names });
    else if (at >= index) {
      specError(ctx, path, `"${name}" names "${ref}", which is declared after it`, {
        fixme: "iommufd creates objects in order: declare an object before those naming it",
      });
    } else if (!types.includes(target.type)) {
      specError(ctx, path, `"${ref}" is of type ${target.type}, not ${types.join(" or ")}`);
    }
  }
  return ctx.diags.length === before;
}

function isNestParent(ctx: CheckCtx, hwpt: IommufdObjDeclT | undefined): boolean {
  if (hwpt?.type !== "hwpt_paging") return false;
  return hwpt.nest_parent ?? ctx.spec.head.domains?.[hwpt.domain ?? ""]?.nest_parent ?? false;
}

function checkDevice(ctx: CheckCtx, name: string, o: IommufdObjDeclT): void {
  if (o.bind === undefined) return;
  const devices = ctx.spec.head.devices ?? {};
  const d = devices[o.bind];
  const path = ["iommufd", name, "bind"];
  if (!d) return unknownName(ctx, path, "device", { name: o.bind, known: Object.keys(devices) });
  if (ctx.spec.head.iommus[d.iommu]?.kind !== "smmuv3") {
    specError(ctx, path, `Cannot bind "${o.bind}": only devices behind an SMMUv3 bind here`, {
      fixme: "leave bind out for a selftest mock device",
    });
  }
}

const NEST_KINDS = ["smmuv3", "vtd"];

function checkHwptPaging(ctx: CheckCtx, name: string, o: IommufdObjDeclT): void {
  if (o.domain === undefined) return;
  const domains = ctx.spec.head.domains ?? {};
  const d = domains[o.domain];
  const path = ["iommufd", name, "domain"];
  if (!d) return unknownName(ctx, path, "domain", { name: o.domain, known: Object.keys(domains) });
  if (!NEST_KINDS.includes(domainKind(ctx.spec, o.domain) ?? "")) {
    specError(ctx, path, `"${o.domain}" is neither an SMMUv3 nor a VT-d domain`, {
      fixme: "leave domain out for a selftest mock paging HWPT",
    });
  } else if (!d.nest_parent) {
    specError(ctx, path, `"${o.domain}" is not a nest parent`, {
      fixme: `declare it with nest_parent: true`,
    });
  } else if (o.nest_parent === false) {
    specError(ctx, ["iommufd", name, "nest_parent"], `"${o.domain}" is a nest parent`);
  }
}

// A VT-d nested HWPT is a declared VT-d nested domain on its parent HWPT's domain.
function checkVtdNested(ctx: CheckCtx, name: string, o: IommufdObjDeclT): void {
  const domains = ctx.spec.head.domains ?? {};
  const parentDomain = objOf(ctx, o.parent)?.domain;
  const nested = Object.keys(domains).filter((n) =>
    domains[n].type === "nested" && domains[n].parent === parentDomain
  );
  if (o.domain === undefined) {
    specError(ctx, ["iommufd", name], "A VT-d nested HWPT needs domain", {
      key: true,
      fixme: `name its nested domain (nested on ${parentDomain})` +
        (nested.length ? `: ${nested.join(", ")}` : ""),
    });
  } else if (!nested.includes(o.domain)) {
    const what = `nested domain on ${parentDomain}`;
    unknownName(ctx, ["iommufd", name, "domain"], what, { name: o.domain, known: nested });
  }
}

function checkHwptNested(ctx: CheckCtx, name: string, o: IommufdObjDeclT): void {
  const parent = objOf(ctx, o.parent);
  const driver = iommufdDriverOf(ctx.spec.head, name);
  if (parent?.type === "hwpt_paging" && !isNestParent(ctx, parent)) {
    specError(ctx, ["iommufd", name, "parent"], `"${o.parent}" is not a nest parent`, {
      fixme: "allocate it with nest_parent: true",
    });
  } else if (parent?.type === "hwpt_paging" && driver === "arm-smmu-v3") {
    specError(ctx, ["iommufd", name, "parent"], "An ARM nested HWPT is allocated on a vIOMMU", {
      fixme: "declare a viommu on the S2 parent and use it as parent",
    });
  }
  if (driver === "intel") checkVtdNested(ctx, name, o);
  else if (o.domain !== undefined) {
    specError(ctx, ["iommufd", name, "domain"], "Only a VT-d nested HWPT names its domain", {
      key: true,
    });
  }
  if (o.iotlb !== undefined && driver !== "selftest") {
    specError(ctx, ["iommufd", name, "iotlb"], "Only a selftest nested HWPT has a mock IOTLB");
  }
}

// An ARM vIOMMU's SMMU must support nesting in every matrix cell and not force syncs.
function checkArmSmmu(ctx: CheckCtx, name: string, iommu: string): void {
  const decl = ctx.spec.head.iommus[iommu];
  if (decl?.kind !== "smmuv3") return;
  const matrix = ctx.spec.head.matrix ?? {};
  const can = (sw: string, v: boolean) =>
    [sw, `${iommu}.${sw}`].some((a) => matrix[a]?.includes(v));
  const path = ["iommufd", name, "device"];
  if (!(decl.features ?? []).includes("nesting") || can("nesting", false)) {
    specError(ctx, path, `Cannot create an ARM vIOMMU on ${iommu}: it lacks nesting`, {
      fixme: `add nesting to ${iommu}'s features (in every matrix cell)`,
    });
  }
  if ((decl.options ?? []).includes("cmdq_force_sync") || can("cmdq_force_sync", true)) {
    specError(ctx, path, `Cannot create an ARM vIOMMU on ${iommu}: cmdq_force_sync is set`, {
      label: "arm_vsmmu_init() refuses the MMU-700 force-sync erratum",
    });
  }
}

function checkViommu(ctx: CheckCtx, name: string, o: IommufdObjDeclT): void {
  const head = ctx.spec.head;
  const hwpt = objOf(ctx, o.hwpt);
  if (!isNestParent(ctx, hwpt)) {
    specError(ctx, ["iommufd", name, "hwpt"], `"${o.hwpt}" is not a nest parent`);
    return;
  }
  const devDriver = iommufdDriverOf(head, o.device ?? "");
  const hwptDriver = iommufdDriverOf(head, o.hwpt ?? "");
  // An unknown driver means a broken reference, already reported.
  if (devDriver === undefined || hwptDriver === undefined) return;
  if (devDriver !== hwptDriver) {
    specError(ctx, ["iommufd", name], `A vIOMMU needs a device and a parent of one driver`, {
      key: true,
      label: `${o.device} is ${devDriver}, ${o.hwpt} is ${hwptDriver}`,
    });
    return;
  }
  if (devDriver !== "arm-smmu-v3") return;
  const iommu = head.devices?.[objOf(ctx, o.device)?.bind ?? ""]?.iommu ?? "";
  const s2 = head.domains?.[hwpt?.domain ?? ""];
  if (s2?.iommu !== undefined && s2.iommu !== iommu) {
    specError(ctx, ["iommufd", name, "hwpt"], `"${o.hwpt}" is on ${s2.iommu}, not ${iommu}`);
  }
  checkArmSmmu(ctx, name, iommu);
}

function checkVdevice(ctx: CheckCtx, name: string, o: IommufdObjDeclT, seen: Set<string>): void {
  const head = ctx.spec.head;
  const driver = iommufdDriverOf(head, o.viommu ?? "");
  const devDriver = iommufdDriverOf(head, o.device ?? "");
  if (driver !== undefined && devDriver !== undefined && devDriver !== driver) {
    specError(ctx, ["iommufd", name, "device"], `"${o.device}" cannot join "${o.viommu}"`, {
      label: `the vIOMMU is ${driver}`,
    });
  }
  const bound = head.devices?.[objOf(ctx, o.device)?.bind ?? ""];
  if (driver === "arm-smmu-v3" && bound?.sids?.length !== 1) {
    specError(ctx, ["iommufd", name, "device"], `An ARM vDEVICE needs a device with one SID`, {
      label: "the vSID maps to streams[0] alone",
    });
  }
  const key = `${o.viommu}:${o.virt_id}`;
  if (seen.has(key)) {
    specError(ctx, ["iommufd", name, "virt_id"], `Virtual ID ${o.virt_id} is already used`, {
      label: `in ${o.viommu}`,
    });
  }
  seen.add(key);
}

/** Checks every declared object. */
export function checkObjects(ctx: CheckCtx): void {
  const seen = new Set<string>();
  iommufdObjects(ctx.spec.head).forEach(([name, o], i) => {
    if (!checkShape(ctx, name, o, i)) return;
    if (o.type === "device") checkDevice(ctx, name, o);
    else if (o.type === "hwpt_paging") checkHwptPaging(ctx, name, o);
    else if (o.type === "hwpt_nested") checkHwptNested(ctx, name, o);
    else if (o.type === "viommu") checkViommu(ctx, name, o);
    else if (o.type === "vdevice") checkVdevice(ctx, name, o, seen);
  });
}
