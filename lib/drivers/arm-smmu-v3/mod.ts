/**
 * The ARM SMMUv3 driver model: the per-domain invalidation array, masters and domains, attach
 * and PASID sequencing with STE/CD writes, and arm_smmu_domain_inv_range() with its callers.
 * Mainline drivers/iommu/arm/arm-smmu-v3 at 6a01b9f0a5ec; variants `"v9"` (the series as
 * posted) and `"multi-smmu"` (domains spanning SMMUs).
 *
 * @example Unmap 8 KiB from an S1 domain with one ATS device
 * ```ts
 * import { eventLogCreate } from "../../events.ts";
 * import { smmuCreate } from "../../hw/smmuv3/smmu.ts";
 * import {
 *   armSmmuDeviceAdd, armSmmuDriverCreate, domainAllocPaging, iommuAttachDevice, iotlbSync,
 *   isErr, masterProbe,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const log = eventLogCreate();
 * const smmu = smmuCreate("smmu0", log, { features: ["range_inv", "ats"] });
 * const drv = armSmmuDriverCreate(log);
 * armSmmuDeviceAdd(drv, smmu);
 * const nic = masterProbe(drv, { name: "nic0", smmu, sids: [0x10], ats: true });
 * const d1 = domainAllocPaging(drv, { name: "d1" });
 * if (isErr(nic) || isErr(d1)) throw new Error("setup");
 * assert.equal(iommuAttachDevice(drv, nic, { domain: d1 }), 0);
 * log.events.length = 0;
 * iotlbSync(drv, d1, { start: 0x40000n, end: 0x41fffn, pgsize: 0x1000n });
 * const ops = log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd.op] : []);
 * assert.deepEqual(ops, ["TLBI_NH_VA", "CMD_SYNC", "ATC_INV", "CMD_SYNC"]);
 * ```
 *
 * @module
 */

export * from "../../errno.ts";
export * from "./invs.ts";
export * from "./driver.ts";
export * from "./domain.ts";
export * from "./master.ts";
export * from "./ste.ts";
export * from "./cd.ts";
export * from "./entry_writer.ts";
export * from "./cd_table.ts";
export * from "./strtab.ts";
export * from "./ats.ts";
export * from "./attach_invs.ts";
export * from "./attach.ts";
export * from "./attach_dev.ts";
export * from "./pasid.ts";
export * from "./iommu.ts";
export * from "./domain_inv.ts";
