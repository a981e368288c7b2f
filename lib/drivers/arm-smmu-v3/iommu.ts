/**
 * The iommu core's side of attaching: it records which domain a device's group and each PASID
 * are attached to, calls the driver op with the domain being replaced, and returns early,
 * without calling the driver, when the group already has the requested domain. One device per
 * group. The driver path (calling attach_dev even for the current domain, as other callers
 * can) is selectable.
 * Models __iommu_attach_group()/__iommu_group_set_domain(), iommu_attach_device_pasid(),
 * iommu_replace_device_pasid() and iommu_remove_dev_pasid() of drivers/iommu/iommu.c as they
 * drive arm-smmu-v3 at mainline 6a01b9f0a5ec.
 * @module
 */

import { warn } from "../../events.ts";
import { armSmmuAttachDev } from "./attach_dev.ts";
import type { IommuDomain } from "./domain.ts";
import type { ArmSmmuDriver } from "./driver.ts";
import { errno, type Ret } from "../../errno.ts";
import type { ArmSmmuMaster } from "./master.ts";
import { armSmmuSetDevPasid, blockingSetDevPasid } from "./pasid.ts";

/** `"core"`: through the iommu core (no-op for the current domain); `"driver"`: attach_dev. */
export type AttachPath = "core" | "driver";

/** Attaches the RID of `master` to `domain`; on success the group's domain is `domain`. */
export function iommuAttachDevice(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly domain: IommuDomain; readonly path?: AttachPath },
): Ret {
  const { domain } = opts;
  if ((opts.path ?? "core") === "core" && master.domain === domain) return 0;
  const r = armSmmuAttachDev(drv, master, { domain, old: master.domain });
  if (r === 0) master.domain = domain;
  return r;
}

/** Detaches the RID: the core attaches the driver's release domain, which is blocked. */
export function iommuDetachDevice(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly path?: AttachPath } = {},
): Ret {
  return iommuAttachDevice(drv, master, { domain: drv.blockedDomain, path: opts.path });
}

/**
 * Attaches `domain` at `pasid`. The PASID must be non-zero and below the device's PASID
 * width; a PASID in use is -EBUSY unless `replace` (iommu_replace_device_pasid(), for which
 * the current domain is a no-op).
 */
export function iommuAttachDevicePasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly pasid: number; readonly domain: IommuDomain; readonly replace?: boolean },
): Ret {
  const { pasid, domain } = opts;
  if (pasid === 0 || pasid >= 2 ** master.ssidBits) return errno("EINVAL");
  const old = master.pasids.get(pasid) ?? null;
  if (old && !opts.replace) return errno("EBUSY");
  if (old === domain) return 0;
  const r = armSmmuSetDevPasid(drv, master, { pasid, domain, old });
  if (r === 0) master.pasids.set(pasid, domain);
  return r;
}

/** Removes the domain at `pasid`: the blocked domain's set_dev_pasid op. */
export function iommuRemoveDevicePasid(
  drv: ArmSmmuDriver,
  master: ArmSmmuMaster,
  opts: { readonly pasid: number },
): Ret {
  const old = master.pasids.get(opts.pasid);
  if (!old) {
    warn(drv.log, "iommu_remove_dev_pasid", `no domain at PASID ${opts.pasid}`);
    return errno("EINVAL");
  }
  blockingSetDevPasid(drv, master, { pasid: opts.pasid, old });
  master.pasids.delete(opts.pasid);
  return 0;
}
