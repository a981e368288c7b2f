/**
 * An open /dev/iommu file (`struct iommufd_ctx`): the object table, with IDs allocated from
 * 1 as the `XA_FLAGS_ALLOC1` xarray does (lowest free ID, so a destroyed ID is reused), the
 * calling process's memory and the World's event log. The object kinds carry their driver's
 * state as plain data, so the whole context can be cloned.
 * Models drivers/iommu/iommufd/main.c (object allocation, lookup, IOMMU_DESTROY) at mainline.
 * @module
 */

import type { EventLog } from "../events.ts";
import type { SmmuDevice } from "../hw/smmuv3/smmu.ts";
import type { IntelNestedDomain } from "../drivers/intel/nested.ts";
import type { MockDev } from "../drivers/selftest/mock_dev.ts";
import type { MockNestedDomain } from "../drivers/selftest/mock_nested.ts";
import type { Errno } from "./errno.ts";
import { type UserMem, userMemCreate } from "./user_mem.ts";

/** A device bound to iommufd behind an SMMUv3 (`struct arm_smmu_master`, narrowed). */
export interface ArmDevice {
  /** Which driver probed the device. */
  readonly driver: "arm-smmu-v3";
  /** `master->streams[].id`: its stream IDs. */
  readonly sids: readonly number[];
}

/** What a DEVICE object stands for. */
export type BoundDevice = MockDev | ArmDevice;

/** An ARM nested domain: it has no `cache_invalidate_user` (invalidation goes via the vIOMMU). */
export interface ArmNestedDomain {
  /** Which driver's nested domain this is. */
  readonly driver: "arm-smmu-v3";
}

/** The driver half of a HWPT_NESTED object. */
export type NestedDomain = MockNestedDomain | IntelNestedDomain | ArmNestedDomain;

/** The driver half of a VIOMMU object. */
export type ViommuDriver =
  | { readonly driver: "selftest" }
  | { readonly driver: "arm-smmu-v3"; readonly smmu: SmmuDevice; readonly vmid: number };

/** `enum iommufd_object_type` without the prefix, for the kinds the models create. */
export type ObjectType = IommufdObject["type"];

/** One object of the table. */
export type IommufdObject =
  | { readonly type: "IOAS"; readonly id: number }
  | { readonly type: "DEVICE"; readonly id: number; readonly dev: BoundDevice }
  | {
    readonly type: "HWPT_PAGING";
    readonly id: number;
    readonly ioasId: number;
    /** Allocated with IOMMU_HWPT_ALLOC_NEST_PARENT. */
    readonly nestParent: boolean;
  }
  | {
    readonly type: "HWPT_NESTED";
    readonly id: number;
    /** The nest-parent paging HWPT or the vIOMMU it was allocated on. */
    readonly parentId: number;
    readonly domain: NestedDomain;
  }
  | {
    readonly type: "VIOMMU";
    readonly id: number;
    /** The nest-parent paging HWPT. */
    readonly hwptId: number;
    readonly viommu: ViommuDriver;
    /** `viommu->vdevs`: virtual ID → VDEVICE object ID. */
    readonly vdevs: Map<bigint, number>;
  }
  | {
    readonly type: "VDEVICE";
    readonly id: number;
    readonly viommuId: number;
    readonly deviceId: number;
    /** `virt_id`: the device's ID in the guest (a vSID on ARM). */
    readonly virtId: bigint;
  };

/** The object of one type, e.g. `ObjectOf<"VIOMMU">`. */
export type ObjectOf<T extends ObjectType> = Extract<IommufdObject, { type: T }>;

/** An open iommufd. */
export interface Iommufd {
  /** Live objects by ID. */
  readonly objects: Map<number, IommufdObject>;
  /** The calling process's memory (where ioctl arguments and arrays live). */
  readonly mem: UserMem;
  /** The World's event log (WARNs, traces, queue commands). */
  readonly log: EventLog;
}

/** Follows iommufd_fops_open(): an empty object table. */
export function iommufdCreate(log: EventLog, opts: { readonly mem?: UserMem } = {}): Iommufd {
  return { objects: new Map(), mem: opts.mem ?? userMemCreate(), log };
}

/** Follows xa_alloc() on an ALLOC1 xarray: the lowest free ID from 1. */
export function objectIdAlloc(fd: Iommufd): number {
  let id = 1;
  while (fd.objects.has(id)) id++;
  return id;
}

/** Adds an object under the lowest free ID and returns the ID. */
export function objectAdd<O extends IommufdObject>(
  fd: Iommufd,
  make: (id: number) => O,
): number {
  const id = objectIdAlloc(fd);
  fd.objects.set(id, make(id));
  return id;
}

/** Follows iommufd_get_object(IOMMUFD_OBJ_ANY): the object, or ENOENT (ID 0 never exists). */
export function objectGet(fd: Iommufd, id: number): IommufdObject | "ENOENT" {
  return fd.objects.get(id) ?? "ENOENT";
}

/** The object of `type` with this ID; a missing or different object is a `TypeError`. */
export function objectExpect<T extends ObjectType>(fd: Iommufd, id: number, type: T): ObjectOf<T> {
  const obj = fd.objects.get(id);
  if (obj?.type !== type) {
    const found = obj ? `a ${obj.type}` : "nothing";
    throw new TypeError(`Cannot use object ${id} as ${type}: it is ${found}`);
  }
  return obj as ObjectOf<T>;
}

function usersOf(fd: Iommufd, id: number): number[] {
  const users: number[] = [];
  for (const o of fd.objects.values()) {
    const refs = o.type === "HWPT_PAGING"
      ? [o.ioasId]
      : o.type === "HWPT_NESTED"
      ? [o.parentId]
      : o.type === "VIOMMU"
      ? [o.hwptId]
      : o.type === "VDEVICE"
      ? [o.viommuId, o.deviceId]
      : [];
    if (refs.includes(id)) users.push(o.id);
  }
  return users;
}

/**
 * Follows iommufd_destroy() (IOMMU_DESTROY): ENOENT for an unknown ID, EBUSY while another
 * object depends on it; destroying a vDEVICE takes its virtual ID out of the vIOMMU.
 */
export function objectDestroy(fd: Iommufd, id: number): 0 | Errno {
  const obj = fd.objects.get(id);
  if (!obj) return "ENOENT";
  if (usersOf(fd, id).length > 0) return "EBUSY";
  if (obj.type === "VDEVICE") {
    const viommu = fd.objects.get(obj.viommuId);
    if (viommu?.type === "VIOMMU") viommu.vdevs.delete(obj.virtId);
  }
  fd.objects.delete(id);
  return 0;
}
