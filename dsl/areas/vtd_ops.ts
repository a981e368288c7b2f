/**
 * The VT-d driver behind the generic verbs: attach and detach go through the core entry
 * points of the Intel model (RID or PASID; the built-in `blocked` domain detaches), and
 * the requests the iommupt page table and the iommu core make are replayed into the
 * domain ops (`iotlb_sync` → intel_iommu_tlb_sync(), `iotlb_sync_map` →
 * intel_iommu_iotlb_sync_map(), `flush_iotlb_all` → intel_flush_iotlb_all()).
 * @module
 */

import {
  intelFlushIotlbAll,
  intelIommuIotlbSyncMap,
  intelIommuTlbSync,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iommuDetachDevicePasid,
} from "../../lib/drivers/intel/mod.ts";
import { outcomeOf } from "../world.ts";
import type { KindOps } from "./area.ts";
import { vtdDeviceOf, vtdDomainOf } from "./vtd_world.ts";

/** The VT-d implementation of the generic verbs. */
export const VTD_KIND_OPS: KindOps = {
  attach(world, a) {
    const dev = vtdDeviceOf(world, a.device);
    if (a.domain === "blocked") {
      return outcomeOf(
        a.pasid === undefined
          ? iommuDetachDevice(dev)
          : iommuDetachDevicePasid(dev, { pasid: a.pasid }),
      );
    }
    const domain = vtdDomainOf(world, a.domain);
    if (a.pasid === undefined) return outcomeOf(iommuAttachDevice(domain, dev));
    return outcomeOf(iommuAttachDevicePasid(domain, dev, { pasid: a.pasid }));
  },
  detach(world, a) {
    const dev = vtdDeviceOf(world, a.device);
    if (a.pasid === undefined) return outcomeOf(iommuDetachDevice(dev));
    return outcomeOf(iommuDetachDevicePasid(dev, { pasid: a.pasid }));
  },
  request(world, domain, req) {
    const d = vtdDomainOf(world, domain.name);
    switch (req.op) {
      case "iotlb_sync": {
        const g = req.gather;
        intelIommuTlbSync(d, { start: g.start, end: g.end, freelistNonEmpty: !g.freelistEmpty });
        break;
      }
      case "iotlb_sync_map":
        intelIommuIotlbSyncMap(d, req);
        break;
      case "flush_all":
        intelFlushIotlbAll(d);
        break;
      case "flush_walk":
        // iommupt frees tables through the gather; VT-d has no tlb_flush_walk op.
        break;
    }
  },
};
