/**
 * The `iommufd:` section of a spec: the objects a scenario opens on /dev/iommu, by name, in
 * the order they are created. iommufd numbers objects from 1 in creation order (an ALLOC1
 * xarray), so the first declared object gets ID 1, the second ID 2, and so on; an object can
 * only name objects declared before it, as the ioctls that create them need their IDs.
 *
 * ```yaml
 * iommufd:
 *   ioas:    { type: ioas }                                    # ID 1
 *   dev:     { type: device }                                  # ID 2: a selftest mock device
 *   parent:  { type: hwpt_paging, ioas: ioas, nest_parent: true }
 *   nested0: { type: hwpt_nested, parent: parent, iotlb: 0xbadbeef }
 *   viommu:  { type: viommu, hwpt: parent, device: dev }       # IOMMU_VIOMMU_TYPE_SELFTEST
 *   vdev:    { type: vdevice, viommu: viommu, device: dev, virt_id: 0x99 }
 * ```
 *
 * The driver behind an object follows from what it names: a `device` with `bind:` is a
 * device declared under `devices:` (an SMMUv3 master), one without is a selftest mock
 * device; a `hwpt_paging` with `domain:` is that declared nest-parent domain (an SMMUv3 S2,
 * whose VMID an ARM vIOMMU takes, or a VT-d second-stage parent), one without is the
 * selftest's; a vIOMMU has its device's driver, a nested HWPT its parent's. A VT-d nested
 * HWPT names its declared nested domain (`domain:`), whose cache tags its invalidations
 * flush.
 *
 * Every type takes the fields of every type (one flat schema, so a typo gets one precise
 * error); the area's checks reject the fields a type does not use.
 * @module
 */

import { z } from "zod";
import type { EntryKind } from "../../lib/iommufd/mod.ts";
import type { SpecHead } from "../decl.ts";
import { Name, U64, uint } from "../schema.ts";

/** Object types, as `enum iommufd_object_type` spells them (lower case). */
export const IOMMUFD_OBJECT_TYPES = [
  "ioas",
  "device",
  "hwpt_paging",
  "hwpt_nested",
  "viommu",
  "vdevice",
] as const;

/** One object type. */
export type IommufdObjectType = typeof IOMMUFD_OBJECT_TYPES[number];

/** One object of the `iommufd:` section. */
export const IommufdObjDecl = z.strictObject({
  type: z.enum(IOMMUFD_OBJECT_TYPES).meta({
    description: "ioas, device, hwpt_paging, hwpt_nested, viommu or vdevice",
  }),
  bind: Name.optional().meta({
    description: "device: a device declared under devices: (else a selftest mock device)",
  }),
  ioas: Name.optional().meta({ description: "hwpt_paging: the IOAS it maps" }),
  nest_parent: z.boolean().optional().meta({
    description: "hwpt_paging: allocated with IOMMU_HWPT_ALLOC_NEST_PARENT",
  }),
  domain: Name.optional().meta({
    description: "hwpt_paging: the declared nest-parent domain it is (ARM: an S2 with its " +
      "VMID); hwpt_nested on VT-d: the declared nested domain it is",
  }),
  parent: Name.optional().meta({
    description: "hwpt_nested: the nest-parent hwpt_paging or the vIOMMU it sits on",
  }),
  iotlb: uint(32).optional().meta({
    description: "hwpt_nested (selftest): value of every mock IOTLB slot (default 0xbadbeef)",
  }),
  hwpt: Name.optional().meta({ description: "viommu: its nest-parent hwpt_paging" }),
  device: Name.optional().meta({ description: "viommu, vdevice: an iommufd device object" }),
  viommu: Name.optional().meta({ description: "vdevice: the vIOMMU it belongs to" }),
  virt_id: U64.optional().meta({ description: "vdevice: its virtual ID (a vSID on ARM)" }),
});

/** One declared object after validation. */
export type IommufdObjDeclT = z.output<typeof IommufdObjDecl>;

/** The `iommufd:` section: objects by name, in creation order. */
export const IommufdDecl = z.record(Name, IommufdObjDecl).meta({
  description: "iommufd objects by name; IDs are allocated from 1 in this order",
});

/** The fields each type takes besides `type` (the others are rejected at load). */
export const IOMMUFD_FIELDS: Readonly<Record<IommufdObjectType, readonly string[]>> = {
  ioas: [],
  device: ["bind"],
  hwpt_paging: ["ioas", "nest_parent", "domain"],
  hwpt_nested: ["parent", "iotlb", "domain"],
  viommu: ["hwpt", "device"],
  vdevice: ["viommu", "device", "virt_id"],
};

/** The fields each type cannot do without. */
export const IOMMUFD_REQUIRED: Readonly<Record<IommufdObjectType, readonly string[]>> = {
  ioas: [],
  device: [],
  hwpt_paging: ["ioas"],
  hwpt_nested: ["parent"],
  viommu: ["hwpt", "device"],
  vdevice: ["viommu", "device", "virt_id"],
};

/** The driver behind an object: what its ops (and its entry layout) are. */
export type IommufdDriver = "selftest" | "arm-smmu-v3" | "intel";

const DRIVER_OF_KIND: Readonly<Record<string, IommufdDriver>> = {
  smmuv3: "arm-smmu-v3",
  vtd: "intel",
};

/** The declared objects of a spec head, in creation order. */
export function iommufdObjects(head: SpecHead): [string, IommufdObjDeclT][] {
  return Object.entries(head.iommufd ?? {});
}

/** The ID iommufd gives a declared object (1-based creation order), or undefined. */
export function iommufdIdOf(head: SpecHead, name: string): number | undefined {
  const i = Object.keys(head.iommufd ?? {}).indexOf(name);
  return i < 0 ? undefined : i + 1;
}

/**
 * The driver of a declared object, following its references: a device is its IOMMU's (a
 * mock device is the selftest's), a paging HWPT its domain's, a vIOMMU its device's, a
 * nested HWPT its parent's, a vDEVICE its vIOMMU's. Undefined for an IOAS or a broken chain.
 */
export function iommufdDriverOf(
  head: SpecHead,
  name: string,
  depth = 0,
): IommufdDriver | undefined {
  const o = head.iommufd?.[name];
  if (!o || depth > 8) return undefined;
  const via = (ref: string | undefined) =>
    ref === undefined ? undefined : iommufdDriverOf(head, ref, depth + 1);
  switch (o.type) {
    case "ioas":
      return undefined;
    case "device": {
      if (o.bind === undefined) return "selftest";
      const dev = head.devices?.[o.bind];
      return dev ? DRIVER_OF_KIND[head.iommus[dev.iommu]?.kind ?? ""] : undefined;
    }
    case "hwpt_paging": {
      if (o.domain === undefined) return "selftest";
      const d = head.domains?.[o.domain];
      const kinds = new Set(Object.values(head.iommus).map((i) => i.kind));
      const kind = d?.iommu ? head.iommus[d.iommu]?.kind : kinds.size === 1 ? [...kinds][0] : "";
      return d ? DRIVER_OF_KIND[kind ?? ""] : undefined;
    }
    case "viommu":
      return via(o.device);
    case "hwpt_nested":
      return via(o.parent);
    case "vdevice":
      return via(o.viommu);
  }
}

/** The entry layout an object's invalidation op takes, if it has one. */
export function iommufdLayoutOf(head: SpecHead, name: string): EntryKind | undefined {
  const type = head.iommufd?.[name]?.type;
  const driver = iommufdDriverOf(head, name);
  if (type === "hwpt_nested") {
    return driver === "selftest" ? "selftest" : driver === "intel" ? "vtd_s1" : undefined;
  }
  if (type === "viommu") {
    return driver === "selftest"
      ? "selftest_viommu"
      : driver === "arm-smmu-v3"
      ? "arm_smmuv3"
      : undefined;
  }
  return undefined;
}
