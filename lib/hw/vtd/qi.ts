/**
 * The invalidation queue as the driver fills it: descriptors copied into consecutive
 * slots, one wait descriptor after them pointing at the wait's own status slot, and the
 * tail moved past all of them. Every entry, the wait included, lands in the World's event
 * log on the queue named after the unit and goes to the unit's hardware model (which acts
 * on a submission when its wait arrives); each non-wait descriptor is also a `qi_submit`
 * trace point.
 * Models qi_submit_sync() of drivers/iommu/intel/dmar.c at mainline (v7.1 queue).
 * @module
 */

import { trace } from "../../events.ts";
import { type Desc, descTraceName, encodeDesc, makeDesc, QI_LENGTH } from "./desc.ts";
import type { VtdIommu } from "./iommu.ts";
import { qiConsume } from "./qi_consume.ts";

/** Options for {@link qiSubmitSync}. */
export interface QiSubmitOptions {
  /** Submit only the first `count` descriptors (default all). */
  readonly count?: number;
  /** `QI_OPT_WAIT_DRAIN`: the wait also drains page requests (PRQ drain only). */
  readonly waitDrain?: boolean;
}

/** Size of one `desc_status` entry (an `int`). */
const STATUS_STRIDE = 4n;

function record(iommu: VtdIommu, cmd: Desc): void {
  iommu.log.events.push({ kind: "cmd", queue: iommu.name, family: "vtd", cmd });
  // The unit reads what the driver wrote (in the model, at once and in order).
  qiConsume(iommu.hw, cmd);
}

/**
 * Follows qi_submit_sync(): queues `count` descriptors plus one wait descriptor and waits
 * for it (completion is immediate in the model). A unit without a queue returns at once,
 * as the kernel does when `iommu->qi` is not set up.
 *
 * @returns 0, like the kernel on success.
 */
export function qiSubmitSync(
  iommu: VtdIommu,
  descs: readonly Desc[],
  opts: QiSubmitOptions = {},
): number {
  const qi = iommu.qi;
  if (!qi) return 0;
  const count = opts.count ?? descs.length;
  for (let i = 0; i < count; i++) {
    const d = descs[i];
    record(iommu, d);
    const [qw0, qw1] = encodeDesc(d);
    trace(iommu.log, "qi_submit", {
      type: descTraceName(d.op),
      iommu: iommu.name,
      qw0,
      qw1,
      qw2: 0n,
      qw3: 0n,
    });
  }
  const waitIndex = (qi.freeHead + count) % QI_LENGTH;
  // The hardware completes the batch by writing QI_DONE into the wait's own status slot,
  // which is what the submitter spins on.
  record(
    iommu,
    makeDesc("INV_WAIT", {
      drain: opts.waitDrain ?? false,
      addr: qi.statusBase + BigInt(waitIndex) * STATUS_STRIDE,
    }),
  );
  qi.freeHead = (qi.freeHead + count + 1) % QI_LENGTH;
  return 0;
}
