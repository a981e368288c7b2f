/**
 * vIOMMUs and vDEVICEs a scenario declares. A vIOMMU sits on a nest-parent HWPT and is
 * either the selftest mock or an ARM vSMMU (an SMMU plus the S2 parent's VMID); a vDEVICE
 * gives a bound device its virtual ID (a vSID on ARM) in one vIOMMU. Models
 * iommufd_viommu_alloc_ioctl() and iommufd_vdevice_alloc_ioctl() in
 * drivers/iommu/iommufd/viommu.c, arm_smmu_get_viommu_size() / arm_vsmmu_init() and
 * arm_vsmmu_vdevice_init() in arm-smmu-v3-iommufd.c, as declarations (a refusal is a
 * `TypeError`).
 * @module
 */

import type { SmmuDevice } from "../hw/smmuv3/smmu.ts";
import { type Iommufd, objectAdd, objectExpect, type ViommuDriver } from "./ctx.ts";

/** The driver half of a vIOMMU to allocate. */
export type ViommuSpec =
  | { readonly driver: "selftest" }
  | {
    readonly driver: "arm-smmu-v3";
    /** The physical SMMU. */
    readonly smmu: SmmuDevice;
    /** The S2 parent's VMID (`s2_parent->s2_cfg.vmid`), which every guest TLBI gets. */
    readonly vmid: number;
  };

function viommuDriverCheck(spec: ViommuSpec): ViommuDriver {
  if (spec.driver === "selftest") return spec;
  const { smmu } = spec;
  if (!smmu.features.nesting) {
    throw new TypeError(`Cannot allocate an ARM vIOMMU on ${smmu.name}: no nesting feature`);
  }
  // The MMU-700 force-sync erratum is never combined with nesting; the driver refuses it.
  if (smmu.options.cmdq_force_sync) {
    throw new TypeError(`Cannot allocate an ARM vIOMMU on ${smmu.name}: cmdq_force_sync is set`);
  }
  return { driver: "arm-smmu-v3", smmu, vmid: spec.vmid };
}

/** Follows iommufd_viommu_alloc_ioctl(): a vIOMMU on the nest parent `hwptId`; returns its ID. */
export function viommuAlloc(
  fd: Iommufd,
  opts: { readonly hwptId: number; readonly viommu: ViommuSpec },
): number {
  const parent = objectExpect(fd, opts.hwptId, "HWPT_PAGING");
  if (!parent.nestParent) {
    throw new TypeError(`Cannot allocate a vIOMMU on HWPT ${opts.hwptId}: not a nest parent`);
  }
  const viommu = viommuDriverCheck(opts.viommu);
  return objectAdd(fd, (id) => ({
    type: "VIOMMU",
    id,
    hwptId: opts.hwptId,
    viommu,
    vdevs: new Map(),
  }));
}

/**
 * Follows iommufd_vdevice_alloc_ioctl(): gives device `deviceId` the virtual ID `virtId` in
 * vIOMMU `viommuId`; returns the vDEVICE's ID. A virtual ID already in use, or a device of
 * another driver, is refused; an ARM vDEVICE needs exactly one stream ID (the vSID maps to
 * `streams[0]` alone).
 */
export function vdeviceAlloc(
  fd: Iommufd,
  opts: { readonly viommuId: number; readonly deviceId: number; readonly virtId: bigint | number },
): number {
  const viommu = objectExpect(fd, opts.viommuId, "VIOMMU");
  const dev = objectExpect(fd, opts.deviceId, "DEVICE").dev;
  const virtId = BigInt(opts.virtId);
  if (viommu.vdevs.has(virtId)) {
    throw new TypeError(`Cannot add virtual ID ${virtId} to vIOMMU ${viommu.id}: already used`);
  }
  if (dev.driver !== viommu.viommu.driver) {
    throw new TypeError(
      `Cannot put a ${dev.driver} device in a ${viommu.viommu.driver} vIOMMU (${viommu.id})`,
    );
  }
  if (dev.driver === "arm-smmu-v3" && dev.sids.length !== 1) {
    throw new TypeError(`Cannot add a vDEVICE for a device with ${dev.sids.length} stream IDs`);
  }
  const { viommuId, deviceId } = opts;
  const id = objectAdd(fd, (id) => ({ type: "VDEVICE", id, viommuId, deviceId, virtId }));
  viommu.vdevs.set(virtId, id);
  return id;
}
