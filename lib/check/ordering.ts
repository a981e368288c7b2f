/**
 * Command-order rules the stale-translation check applies to every step, with or without
 * cached entries, read from the step's SMMUv3 queue records:
 *
 * - an ATC_INV must not share a SYNC group with an earlier TLBI on the same queue: nothing
 *   orders their effects, so the device may be answered from the IOTLB entry the TLBI is
 *   about to remove and cache it again (why arm_smmu_invs_end_batch() ends a batch before
 *   the first ATS entry);
 * - a step must not end with invalidations (TLBI, CFGI, ATC_INV) not followed by a CMD_SYNC
 *   on their queue: without one there is no guarantee they ever took effect.
 *
 * PREFETCH_CFG, PRI_RESP and RESUME need no SYNC. A VT-d queue has the second rule with its
 * wait descriptor: every descriptor must be followed by an INV_WAIT before the step ends
 * (Intel VT-d spec rev 5.10, §6.5.2.9). It has no counterpart of the first: the unit runs a
 * device-TLB descriptor only after the IOTLB descriptors ahead of it have completed
 * (§6.5.2.12), so an IOTLB invalidation and the device-TLB one after it need no wait
 * between them; a device-TLB invalidation put before its IOTLB one shows up as the stale
 * refetched entry the hardware model leaves (lib/hw/vtd/qi_consume.ts).
 * Not a kernel function.
 * @module
 */

import type { Event, Family } from "../events.ts";
import type { CmdLike } from "../hw/codec.ts";
import { type Cmd, formatCmd } from "../hw/smmuv3/cmd.ts";
import { cmdInvalidates } from "../hw/smmuv3/cmdq_consume.ts";
import { type Desc, formatDesc } from "../hw/vtd/desc.ts";
import type { Finding } from "./finding.ts";

interface QueueState {
  /** The queue's command family. */
  readonly family: Family;
  /** First TLBI since the last CMD_SYNC. */
  tlbi: CmdLike | null;
  /** Whether this SYNC group already has an ORDER finding. */
  reported: boolean;
  /** Invalidations since the last CMD_SYNC. */
  unsynced: CmdLike[];
}

// Per family: the entry that completes what came before it, and the canonical text.
const SYNC: Readonly<Record<Family, string>> = { smmuv3: "CMD_SYNC", vtd: "INV_WAIT" };
const text = (c: CmdLike, family: Family = "smmuv3") =>
  family === "vtd" ? formatDesc(c as unknown as Desc) : formatCmd(c as unknown as Cmd);

function orderFinding(queue: string, tlbi: CmdLike, atc: CmdLike): Finding {
  return {
    kind: "ORDER",
    owner: queue,
    fields: { sid: BigInt(atc.sid as number), after: tlbi.op },
    key: ["sid"],
    what: `${text(atc)} shares a SYNC group with the earlier ${text(tlbi)} on ${queue}: ` +
      "the device may be answered from the IOTLB entry the TLBI is about to remove",
    fix: "a CMD_SYNC between them would make the TLBI complete first",
    notes: [],
  };
}

function unsyncedFinding(queue: string, q: QueueState): Finding {
  const cmds = q.unsynced;
  const n = cmds.length;
  const sync = SYNC[q.family];
  const article = q.family === "vtd" ? "an" : "a";
  return {
    kind: "UNSYNCED",
    owner: queue,
    fields: { op: cmds[0].op, n: BigInt(n) },
    key: ["op"],
    what: `${n} invalidation${n > 1 ? "s" : ""} on ${queue} ${n > 1 ? "are" : "is"} not ` +
      `followed by ${article} ${sync} (first: ${text(cmds[0], q.family)})`,
    fix: `${article} ${sync} after ${n > 1 ? "them" : "it"} would make sure ${
      n > 1 ? "they take" : "it takes"
    } effect`,
    notes: [],
  };
}

function fresh(family: Family): QueueState {
  return { family, tlbi: null, reported: false, unsynced: [] };
}

/** The ordering findings of one step's events. */
export function orderingFindings(events: readonly Event[]): Finding[] {
  const queues = new Map<string, QueueState>();
  const out: Finding[] = [];
  for (const e of events) {
    if (e.kind !== "cmd") continue;
    let q = queues.get(e.queue);
    if (!q) queues.set(e.queue, q = fresh(e.family));
    const op = e.cmd.op;
    if (op === SYNC[e.family]) {
      queues.set(e.queue, fresh(e.family));
      continue;
    }
    if (e.family === "vtd") {
      q.unsynced.push(e.cmd);
      continue;
    }
    if (!cmdInvalidates(op)) continue;
    q.unsynced.push(e.cmd);
    if (op.startsWith("TLBI_")) q.tlbi ??= e.cmd;
    if (op === "ATC_INV" && q.tlbi && !q.reported) {
      q.reported = true;
      out.push(orderFinding(e.queue, q.tlbi, e.cmd));
    }
  }
  for (const [name, q] of queues) {
    if (q.unsynced.length) out.push(unsyncedFinding(name, q));
  }
  return out;
}
