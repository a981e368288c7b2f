/**
 * The Intel VT-d driver model: cache tags and the consolidated domain flushes built on
 * them, the descriptor builders and batches they use, PASID-table and context entries,
 * attach/detach, the IOTLB-sync domain ops and the SVA notifier, with the upstream
 * versions as variants (`pre-tags`, `CT-1` … `CT-4`, default `CT-4`).
 *
 * @example Two devices behind one unit share one IOTLB tag
 * ```ts
 * import { eventLogCreate } from "../../events.ts";
 * import { vtdIommuCreate } from "../../hw/vtd/mod.ts";
 * import {
 *   domainAlloc,
 *   intelIommuProbeDevice,
 *   intelIommuTlbSync,
 *   iommuAttachDevice,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const log = eventLogCreate();
 * const dmar0 = vtdIommuCreate("dmar0", log);
 * const a = intelIommuProbeDevice(dmar0, { name: "a", sid: 0x300 });
 * const b = intelIommuProbeDevice(dmar0, { name: "b", sid: 0x308 });
 * const d = domainAlloc("d", log);
 * iommuAttachDevice(d, a);
 * iommuAttachDevice(d, b);
 * assert.deepEqual(d.cacheTags.map((t) => [t.type, t.domainId, t.users]), [["IOTLB", 2, 2]]);
 * log.events.length = 0;
 * intelIommuTlbSync(d, { start: 0x3000n, end: 0x4fffn, freelistNonEmpty: false });
 * const cmds = log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd.op] : []);
 * assert.deepEqual(cmds, ["IOTLB_INV", "INV_WAIT"]);
 * ```
 *
 * @module
 */

export * from "./variant.ts";
export * from "./device.ts";
export * from "./domain.ts";
export * from "./psi_aligned_address.ts";
export * from "./qi_desc.ts";
export * from "./qi_flush.ts";
export * from "./qi_batch.ts";
export * from "./cache_tag.ts";
export * from "./cache_tag_flush.ts";
export * from "./pasid.ts";
export * from "./context.ts";
export * from "./attach.ts";
export * from "./iotlb_sync.ts";
export * from "./svm.ts";
