/**
 * Builds the `iommufd:` section into a World: one open iommufd with every declared object
 * created in declaration order (so IDs run from 1 in that order). A bound SMMUv3 device takes
 * its master's stream IDs; an ARM vIOMMU takes its device's SMMU and the VMID of its parent's
 * S2 domain (finalised for that SMMU now if no attach did it yet, as allocating the HWPT for
 * the device would). The load-time checks have rejected every declaration the models would
 * refuse, so a refusal here is an invspec bug.
 * @module
 */

import { domainFinalise, type SmmuDomain } from "../../lib/drivers/arm-smmu-v3/mod.ts";
import {
  deviceBind,
  type EntryKind,
  hwptAllocNested,
  hwptAllocPaging,
  ioasAlloc,
  type Iommufd,
  iommufdCreate,
  type NestedSpec,
  vdeviceAlloc,
  viommuAlloc,
  type ViommuSpec,
} from "../../lib/iommufd/mod.ts";
import type { LoadedSpec } from "../load.ts";
import type { World } from "../world.ts";
import {
  iommufdDriverOf,
  iommufdLayoutOf,
  type IommufdObjDeclT,
  iommufdObjects,
} from "./iommufd_decl.ts";

/** The iommufd part of a World. */
export interface IommufdWorld {
  /** The open iommufd. */
  readonly fd: Iommufd;
  /** Object IDs by spec name. */
  readonly ids: Readonly<Record<string, number>>;
  /** The entry struct each object's invalidation op takes, by spec name (if it has one). */
  readonly layouts: Readonly<Record<string, EntryKind>>;
}

type Ids = Record<string, number>;

function idOf(ids: Ids, name: string | undefined): number {
  const id = name === undefined ? undefined : ids[name];
  if (id === undefined) throw new TypeError(`invspec bug: iommufd object ${name} not built yet`);
  return id;
}

function bindDevice(world: World, fd: Iommufd, o: IommufdObjDeclT): number {
  if (o.bind === undefined) return deviceBind(fd, { driver: "selftest" });
  const master = world.smmuv3?.masters.get(o.bind);
  if (!master) throw new TypeError(`invspec bug: ${o.bind} is not an SMMUv3 master`);
  return deviceBind(fd, { driver: "arm-smmu-v3", sids: master.streams });
}

// The S2 parent of an ARM vIOMMU, finalised for the SMMU of the vIOMMU's device.
function s2Parent(world: World, spec: LoadedSpec, o: IommufdObjDeclT): SmmuDomain {
  const hwpt = spec.head.iommufd?.[o.hwpt ?? ""];
  const dev = spec.head.iommufd?.[o.device ?? ""];
  const drv = world.smmuv3;
  const d = drv?.domains.get(hwpt?.domain ?? "");
  const master = drv?.masters.get(dev?.bind ?? "");
  if (!drv || !master || d?.type !== "paging") {
    throw new TypeError("invspec bug: an ARM vIOMMU without its S2 domain or master");
  }
  if (!d.smmu) {
    const r = domainFinalise(drv, d, { smmu: master.smmu });
    if (r !== 0) throw new TypeError(`invspec bug: S2 parent ${d.name}: ${r.errno}`);
  }
  return d;
}

function viommuSpec(world: World, spec: LoadedSpec, name: string, o: IommufdObjDeclT): ViommuSpec {
  if (iommufdDriverOf(spec.head, name) !== "arm-smmu-v3") return { driver: "selftest" };
  const d = s2Parent(world, spec, o);
  if (!d.smmu) throw new TypeError(`invspec bug: S2 parent ${d.name} has no SMMU`);
  return { driver: "arm-smmu-v3", smmu: d.smmu, vmid: d.vmid };
}

function nestedSpec(spec: LoadedSpec, name: string, o: IommufdObjDeclT): NestedSpec {
  const driver = iommufdDriverOf(spec.head, name);
  if (driver === "arm-smmu-v3") return { driver };
  // The VT-d op flushes through the declared nested domain's cache tags.
  if (driver === "intel") return { driver, name: o.domain ?? name };
  return { driver: "selftest", iotlb: o.iotlb };
}

// Creates one object; returns its ID.
function objectCreate(world: World, spec: LoadedSpec, fd: Iommufd, ids: Ids, name: string): number {
  const o = spec.head.iommufd?.[name];
  switch (o?.type) {
    case "ioas":
      return ioasAlloc(fd);
    case "device":
      return bindDevice(world, fd, o);
    case "hwpt_paging": {
      const nestParent = o.nest_parent ?? spec.head.domains?.[o.domain ?? ""]?.nest_parent;
      return hwptAllocPaging(fd, { ioasId: idOf(ids, o.ioas), nestParent });
    }
    case "hwpt_nested":
      return hwptAllocNested(fd, {
        parentId: idOf(ids, o.parent),
        data: nestedSpec(spec, name, o),
      });
    case "viommu":
      return viommuAlloc(fd, {
        hwptId: idOf(ids, o.hwpt),
        viommu: viommuSpec(world, spec, name, o),
      });
    case "vdevice":
      return vdeviceAlloc(fd, {
        viommuId: idOf(ids, o.viommu),
        deviceId: idOf(ids, o.device),
        virtId: o.virt_id ?? 0n,
      });
    default:
      throw new TypeError(`invspec bug: no iommufd object ${name}`);
  }
}

/** Opens the World's iommufd and creates the declared objects in order. */
export function iommufdBuild(world: World, spec: LoadedSpec): void {
  if (!spec.head.iommufd) return;
  const fd = iommufdCreate(world.log);
  const ids: Ids = {};
  const layouts: Record<string, EntryKind> = {};
  for (const [name] of iommufdObjects(spec.head)) {
    ids[name] = objectCreate(world, spec, fd, ids, name);
    const layout = iommufdLayoutOf(spec.head, name);
    if (layout) layouts[name] = layout;
  }
  world.iommufd = { fd, ids, layouts };
}
