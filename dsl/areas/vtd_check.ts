/**
 * Load-time checks of what a spec declares and does with VT-d: fields that belong to
 * another IOMMU kind, the requester ids of the endpoints, the shape of nested and SVA
 * domains, fixed domain ids, and steps that would hand a VT-d object to an SMMUv3-only
 * verb (or the reverse). Everything the builder and the verbs later rely on is checked
 * here, so a bad spec is a diagnostic, never a crash.
 * @module
 */

import { FLPT_DEFAULT_DID, IDA_START_DID } from "../../lib/hw/vtd/mod.ts";
import { suggest } from "../../lib/suggest.ts";
import type { DeviceDeclT, DomainDeclT } from "../decl.ts";
import { specError } from "../expect.ts";
import type { LoadedSpec, LoadedStep } from "../load.ts";
import type { Diagnostic, SpecPath } from "../types.ts";
import { domainKind } from "./smmuv3.ts";

type Ctx = { readonly locator: LoadedSpec["locator"]; readonly diags: Diagnostic[] };

const DEVICE_ONLY_VTD = ["sid", "pfsid", "qdep", "extra_dtlb_flush"] as const;
const DEVICE_NOT_VTD = ["sids", "canwbs"] as const;
const DOMAIN_ONLY_VTD = ["level", "parent", "did", "pasid"] as const;
const DOMAIN_NOT_VTD = ["stage", "asid", "vmid"] as const;

function isVtdUnit(spec: LoadedSpec, name: string | undefined): boolean {
  return name !== undefined && spec.head.iommus[name]?.kind === "vtd";
}

/** Whether a declared domain lives on VT-d. */
export function isVtdDomain(spec: LoadedSpec, name: string): boolean {
  return spec.head.domains?.[name] !== undefined && domainKind(spec, name) === "vtd";
}

function checkDevice(ctx: Ctx, spec: LoadedSpec, name: string, d: DeviceDeclT) {
  const vtd = isVtdUnit(spec, d.iommu);
  const kind = spec.head.iommus[d.iommu]?.kind;
  for (const k of vtd ? DEVICE_NOT_VTD : DEVICE_ONLY_VTD) {
    if (d[k] === undefined) continue;
    const title = vtd ? `${k} applies to SMMUv3 masters` : `${k} applies to VT-d endpoints`;
    specError(ctx, ["devices", name, k], `Device "${name}": ${title}`, {
      key: true,
      label: vtd ? `${d.iommu} is a VT-d unit` : `${d.iommu} is ${kind}`,
    });
  }
  if (!vtd) return;
  if (d.sid === undefined) {
    specError(ctx, ["devices", name], `Device "${name}" needs sid: ${d.iommu} is a VT-d unit`, {
      fixme: "write the requester id, bus << 8 | devfn, e.g. sid: 0x0300",
    });
  }
  for (const k of ["qdep", "extra_dtlb_flush"] as const) {
    if (d[k] !== undefined && !d.ats) {
      specError(ctx, ["devices", name, k], `Device "${name}": ${k} applies to ATS devices`, {
        key: true,
        fixme: "add ats: true",
      });
    }
  }
}

function checkRids(ctx: Ctx, spec: LoadedSpec): void {
  const owner = new Map<string, string>();
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) {
    if (!isVtdUnit(spec, d.iommu) || d.sid === undefined) continue;
    const key = `${d.iommu}:${d.sid}`;
    const other = owner.get(key);
    if (other) {
      specError(
        ctx,
        ["devices", name, "sid"],
        `Requester id 0x${d.sid.toString(16)} is also used by ${other} on ${d.iommu}`,
      );
    }
    owner.set(key, name);
  }
}

function checkForeignDomainKeys(ctx: Ctx, name: string, d: DomainDeclT, vtd: boolean): void {
  for (const k of vtd ? DOMAIN_NOT_VTD : DOMAIN_ONLY_VTD) {
    if (d[k] === undefined) continue;
    specError(
      ctx,
      ["domains", name, k],
      vtd
        ? `Domain "${name}": ${k} applies to SMMUv3 domains`
        : `Domain "${name}": ${k} is VT-d only`,
      { key: true },
    );
  }
}

function checkNested(ctx: Ctx, spec: LoadedSpec, name: string, d: DomainDeclT): void {
  const at: SpecPath = ["domains", name];
  if (d.type !== "nested") {
    if (d.parent !== undefined) {
      specError(ctx, [...at, "parent"], `Domain "${name}": only a nested domain has a parent`, {
        key: true,
        fixme: "add type: nested, or remove parent",
      });
    }
    return;
  }
  if (d.parent === undefined) {
    specError(ctx, at, `Nested domain "${name}" needs parent: its second-stage domain`);
    return;
  }
  const p = spec.head.domains?.[d.parent];
  if (!p || !isVtdDomain(spec, d.parent)) {
    const near = suggest(d.parent, Object.keys(spec.head.domains ?? {}));
    specError(ctx, [...at, "parent"], `No VT-d domain named "${d.parent}"`, {
      label: near ? `did you mean "${near}"?` : undefined,
    });
  } else if ((p.type ?? "paging") !== "paging" || p.level === "first" || !p.nest_parent) {
    specError(ctx, [...at, "parent"], `Domain "${d.parent}" cannot be a nesting parent`, {
      fixme: `declare it as second-level paging with nest_parent: true`,
    });
  }
}

function checkShape(ctx: Ctx, name: string, d: DomainDeclT): void {
  const at: SpecPath = ["domains", name];
  const type = d.type ?? "paging";
  if (type === "identity" || type === "blocked") {
    specError(ctx, [...at, "type"], `VT-d ${type} domains are not declared`, {
      fixme: type === "blocked"
        ? "attach to the built-in domain `blocked` (or detach)"
        : "the VT-d model has no identity domain",
    });
  }
  if (d.level !== undefined && type !== "paging") {
    specError(ctx, [...at, "level"], `Domain "${name}": level applies to paging domains`, {
      key: true,
    });
  }
  if (d.nest_parent && (type !== "paging" || d.level === "first")) {
    specError(ctx, [...at, "nest_parent"], "Only a second-level paging domain can be a parent");
  }
  if (type === "sva" && d.pasid === undefined) {
    specError(ctx, at, `SVA domain "${name}" needs pasid: the process's PASID`);
  } else if (d.pasid !== undefined && (type !== "sva" || d.pasid === 0)) {
    specError(
      ctx,
      [...at, "pasid"],
      type === "sva" ? "PASID 0 is IOMMU_NO_PASID" : `Domain "${name}": pasid applies to SVA`,
    );
  }
}

function checkDids(ctx: Ctx, spec: LoadedSpec, name: string, d: DomainDeclT): void {
  if (d.did === undefined) return;
  const at: SpecPath = ["domains", name, "did"];
  if (d.type === "sva") {
    specError(ctx, at, `SVA domains use domain id ${FLPT_DEFAULT_DID} on every unit`);
    return;
  }
  const entries: [string | undefined, number][] = typeof d.did === "number"
    ? [[undefined, d.did]]
    : Object.entries(d.did);
  for (const [unit, did] of entries) {
    const p = unit === undefined ? at : [...at, unit];
    if (unit !== undefined && !isVtdUnit(spec, unit)) {
      const units = Object.keys(spec.head.iommus).filter((n) => isVtdUnit(spec, n));
      const near = suggest(unit, units);
      specError(ctx, p, `No VT-d unit named "${unit}"`, {
        key: true,
        label: near ? `did you mean "${near}"?` : undefined,
      });
    } else if (did < IDA_START_DID) {
      specError(ctx, p, `Domain id ${did} is reserved`, {
        fixme:
          `ids 0 (caching mode) and 1 (FLPT_DEFAULT_DID) are the driver's; use ${IDA_START_DID} or more`,
      });
    }
  }
}

/** Checks the declarations: devices, domains. */
export function checkVtdDecls(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  for (const [name, d] of Object.entries(spec.head.devices ?? {})) checkDevice(ctx, spec, name, d);
  checkRids(ctx, spec);
  for (const [name, d] of Object.entries(spec.head.domains ?? {})) {
    const vtd = isVtdDomain(spec, name);
    checkForeignDomainKeys(ctx, name, d, vtd);
    if (!vtd) continue;
    checkNested(ctx, spec, name, d);
    checkShape(ctx, name, d);
    checkDids(ctx, spec, name, d);
  }
}

// Verbs of the SMMUv3 area that take a `domain`, and of the VT-d area.
const SMMU_DOMAIN_VERBS = new Set(["iotlb_sync", "flush_walk", "invalidate", "sva_invalidate"]);
const VTD_DOMAIN_VERBS = new Set(["flush_range", "flush_range_np", "sva_notify"]);
const PT_VERBS = new Set(["map", "unmap", "fq_flush"]);

function checkAttach(ctx: Ctx, spec: LoadedSpec, s: LoadedStep, a: Record<string, unknown>) {
  const dev = spec.head.devices?.[a.device as string];
  if (!dev) return;
  const at = [...s.path, s.verb];
  if (!isVtdUnit(spec, dev.iommu)) {
    if (typeof a.domain === "string" && isVtdDomain(spec, a.domain)) {
      specError(ctx, [...at, "domain"], `Domain "${a.domain}" is a VT-d domain`, {
        label: `${a.device as string} sits behind ${dev.iommu}`,
      });
    }
    return;
  }
  if (a.path !== undefined) {
    specError(ctx, [...at, "path"], `${s.verb}: path applies to SMMUv3 devices`, { key: true });
  }
  const target = (s.verb === "attach" ? a.domain : a.to) as string | undefined;
  const key = s.verb === "attach" ? "domain" : "to";
  if (target === "identity") {
    specError(ctx, [...at, key], "The VT-d model has no identity domain", {
      fixme: "attach to a paging domain, or detach to blocked",
    });
  } else if (target !== undefined && target !== "blocked" && !isVtdDomain(spec, target)) {
    specError(ctx, [...at, key], `Domain "${target}" is not a VT-d domain`, {
      label: `${a.device as string} sits behind ${dev.iommu}`,
    });
  }
}

function checkStepDomain(ctx: Ctx, spec: LoadedSpec, s: LoadedStep, a: Record<string, unknown>) {
  const name = a.domain;
  if (typeof name !== "string" || !spec.head.domains?.[name]) return;
  const at = [...s.path, s.verb, "domain"];
  const vtd = isVtdDomain(spec, name);
  const type = spec.head.domains[name].type ?? "paging";
  if (vtd && SMMU_DOMAIN_VERBS.has(s.verb)) {
    specError(ctx, at, `${s.verb} is an SMMUv3 verb; "${name}" is a VT-d domain`, {
      fixme: "VT-d verbs: flush_range, flush_range_np, sva_notify",
    });
  } else if (!vtd && VTD_DOMAIN_VERBS.has(s.verb)) {
    specError(ctx, at, `${s.verb} is a VT-d verb; "${name}" is not a VT-d domain`);
  } else if (vtd && PT_VERBS.has(s.verb) && type !== "paging") {
    specError(ctx, at, `Domain "${name}" has no page table to ${s.verb} (it is ${type})`, {
      fixme: type === "nested"
        ? "map on its parent, or flush the nested domain with flush_range"
        : "use sva_notify for the process's page table changes",
    });
  } else if (vtd && s.verb === "sva_notify" && type !== "sva") {
    specError(ctx, at, `sva_notify needs an SVA domain; "${name}" is ${type}`);
  }
}

/** Checks the steps that touch VT-d objects. */
export function checkVtdSteps(spec: LoadedSpec, diags: Diagnostic[]): void {
  const ctx = { locator: spec.locator, diags };
  for (const s of spec.steps) {
    const a = (s.args ?? {}) as Record<string, unknown>;
    if (s.verb === "attach" || s.verb === "detach") checkAttach(ctx, spec, s, a);
    checkStepDomain(ctx, spec, s, a);
    if (s.verb === "tlbi_range" && isVtdUnit(spec, a.iommu as string)) {
      specError(ctx, [...s.path, s.verb, "iommu"], "tlbi_range builds SMMUv3 commands", {
        label: `${a.iommu as string} is a VT-d unit`,
      });
    }
  }
}
