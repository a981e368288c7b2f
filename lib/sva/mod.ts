/**
 * Shared virtual addressing: processes bound to devices by PASID on SMMUv3 and VT-d, the
 * mmu-notifier paths (a user range changed, the process exits), SVA domain lifetime, and
 * the kernel-VA invalidation that x86 defers to a work item, with the designs seed 003
 * weighs as variants.
 *
 * @example A freed kernel page table reaches the IOMMU only when the deferred work runs
 * ```ts
 * import { eventLogCreate } from "../events.ts";
 * import { vtdIommuCreate } from "../hw/vtd/mod.ts";
 * import { intelIommuProbeDevice } from "../drivers/intel/mod.ts";
 * import {
 *   flushScheduledWork, kernelPtFree, mmCreate, svaBindDevice, svaSystemCreate,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const log = eventLogCreate();
 * const dmar0 = vtdIommuCreate("dmar0", log);
 * const dev = intelIommuProbeDevice(dmar0, { name: "acc0", sid: 0x300, pasid: true });
 * const sys = svaSystemCreate(log);
 * const p1 = mmCreate("p1", { pgd: 0x1000n });
 * svaBindDevice(sys, { dev: { kind: "vtd", name: "acc0", dev }, mm: p1 });
 * log.events.length = 0;
 * kernelPtFree(sys, { atomic: true });
 * assert.equal(log.events.filter((e) => e.kind === "cmd").length, 0);
 * flushScheduledWork(sys);
 * const ops = log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd.op] : []);
 * assert.deepEqual(ops, ["P_IOTLB_INV", "INV_WAIT"]);
 * ```
 *
 * @module
 */

export * from "./system.ts";
export * from "./mm.ts";
export * from "./mmu_notifier.ts";
export * from "./domain.ts";
export * from "./bind.ts";
export * from "./kva.ts";
export * from "./pgtable_free.ts";
export * from "./workqueue.ts";
