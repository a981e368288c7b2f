/**
 * IOMMU_HWPT_INVALIDATE's handler (`iommufd_hwpt_invalidate`): envelope checks, the object
 * lookup, the choice of driver op, and how the op is called, in both forms.
 *
 * `"driver-loop"` (before the series): the op is called once with the whole array, and
 * whatever it writes to `entry_num` is reported, unchecked. `"core-loop"` (the series,
 * 61e2f25a49bc): the core calls the op on the not-yet-handled rest of the array until
 * everything is handled or the op fails; a zero-length array is one probing call; an op that
 * handles everything at once is called once, as before. The series' core code was not seen:
 * the two contract checks below are ours, written the way the kernel guards a driver
 * contract (WARN_ON_ONCE plus an errno):
 * - over-report (the op claims more entries than it was given): WARN; the claim is not
 *   counted (a short count only makes user space retry idempotent invalidations, a long one
 *   would make it skip some); the call's errno stands, EINVAL if it had none.
 * - no progress (the op returns 0 having handled none while entries remain): WARN, EINVAL,
 *   `entry_num` = what was handled so far. Without this check the loop never ends, and
 *   returning 0 would claim every entry was handled. EINVAL because that is how iommufd
 *   already answers a driver that breaks its contract (iommufd_hwpt_nested_alloc() WARNs
 *   and returns -EINVAL for a nested domain without `cache_invalidate_user`), and it is
 *   what iommufd.md §2.3 recommends.
 * Models drivers/iommu/iommufd/hw_pagetable.c at mainline (11534b4de2a1) and after the
 * series.
 * @module
 */

import { u64 } from "../bits.ts";
import { warn } from "../events.ts";
import {
  type CmdqFault,
  vsmmuCacheInvalidate,
  type VsmmuOpContext,
} from "../drivers/arm-smmu-v3/vsmmu.ts";
import { nestedCacheInvalidateUser, type VtdFlush } from "../drivers/intel/nested.ts";
import type { MockDev } from "../drivers/selftest/mock_dev.ts";
import { mockDomainCacheInvalidateUser } from "../drivers/selftest/mock_nested.ts";
import { mockViommuCacheInvalidate } from "../drivers/selftest/mock_viommu.ts";
import {
  type BoundDevice,
  type Iommufd,
  type IommufdObject,
  objectGet,
  type ObjectOf,
} from "./ctx.ts";
import type { Rc } from "./errno.ts";
import {
  type CacheInvalidateOp,
  IOMMUFD_DEFAULT_VARIANT,
  type IommufdVariant,
  type OpContext,
} from "./invalidate_op.ts";
import type { HwptInvalidateCmd } from "./uapi.ts";
import type { UserDataArray } from "./user_data.ts";

/** How to run one IOMMU_HWPT_INVALIDATE. */
export interface HwptInvalidateOptions {
  /** Form of the core handler (default `"core-loop"`). */
  readonly variant?: IommufdVariant;
  /** Form of the driver ops (default: the same as `variant`); mixing shows a driver not yet
   * converted under the new core, or a converted one under the old core. */
  readonly opVariant?: IommufdVariant;
  /** Entries per call of a converted selftest or VT-d op (default 1). */
  readonly chunk?: number;
  /** ARM: a command-queue issue of this ioctl that fails. */
  readonly cmdqFault?: CmdqFault;
  /** VT-d: where flush requests go (the VT-d model's `cacheTagFlushRange`, once wired). */
  readonly vtdFlush?: VtdFlush;
}

/** One call of the driver op. */
export interface OpCall {
  /** `uptr` it was given. */
  readonly uptr: bigint;
  /** `entry_num` it was given. */
  readonly given: number;
  /** `entry_num` it reported. */
  readonly handled: number;
  /** What it returned. */
  readonly rc: Rc;
}

/** What the handler did before the response was copied back. */
export interface HwptInvalidateResult {
  /** The handler's return value (before the respond copy can turn it into EFAULT). */
  readonly rc: Rc;
  /** `entry_num` written back: entries handled. */
  readonly entryNum: number;
  /** Every op call, in order (empty when the handler failed before the op). */
  readonly calls: readonly OpCall[];
}

const FN = "iommufd_hwpt_invalidate";

// The devices behind a vIOMMU's virtual IDs, read under the vDEVICE table as the ops do.
function vdevDevices(fd: Iommufd, obj: ObjectOf<"VIOMMU">): [bigint, BoundDevice][] {
  const out: [bigint, BoundDevice][] = [];
  for (const [virtId, vdevId] of obj.vdevs) {
    const vdev = fd.objects.get(vdevId);
    const dev = vdev?.type === "VDEVICE" ? fd.objects.get(vdev.deviceId) : undefined;
    if (dev?.type === "DEVICE") out.push([virtId, dev.dev]);
  }
  return out;
}

function viommuOp(fd: Iommufd, obj: ObjectOf<"VIOMMU">, ctx: VsmmuOpContext): CacheInvalidateOp {
  const v = obj.viommu;
  const devs = vdevDevices(fd, obj);
  if (v.driver === "selftest") {
    const mocks = new Map<bigint, MockDev>();
    for (const [virtId, dev] of devs) if (dev.driver === "selftest") mocks.set(virtId, dev);
    return (a) => mockViommuCacheInvalidate(mocks, a, ctx);
  }
  const vdevs = new Map<bigint, number>();
  for (const [virtId, dev] of devs) {
    if (dev.driver === "arm-smmu-v3") vdevs.set(virtId, dev.sids[0]);
  }
  const vsmmu = { smmu: v.smmu, vmid: v.vmid, vdevs };
  return (a) => vsmmuCacheInvalidate(vsmmu, a, ctx);
}

// The op of a nested domain or vIOMMU, bound to its state; EOPNOTSUPP when the driver has
// none, EINVAL for any other object type.
function opOf(
  fd: Iommufd,
  obj: IommufdObject,
  opts: HwptInvalidateOptions,
): CacheInvalidateOp | Rc {
  const variant = opts.opVariant ?? opts.variant ?? IOMMUFD_DEFAULT_VARIANT;
  const ctx: OpContext = { mem: fd.mem, log: fd.log, variant, chunk: opts.chunk };
  if (obj.type === "HWPT_NESTED") {
    const d = obj.domain;
    if (d.driver === "selftest") return (a) => mockDomainCacheInvalidateUser(d, a, ctx);
    if (d.driver === "intel") {
      return (a) => nestedCacheInvalidateUser(d, a, { ...ctx, flush: opts.vtdFlush });
    }
    return "EOPNOTSUPP";
  }
  if (obj.type === "VIOMMU") {
    return viommuOp(fd, obj, { ...ctx, cmdqFault: opts.cmdqFault, issues: { n: 0 } });
  }
  return "EINVAL";
}

/** The pre-series call: the op once, its `entry_num` reported as is. */
export function hwptInvalidateOnce(
  array: UserDataArray,
  op: CacheInvalidateOp,
): HwptInvalidateResult {
  const { uptr, entryNum: given } = array;
  const rc = op(array);
  return { rc, entryNum: array.entryNum, calls: [{ uptr, given, handled: array.entryNum, rc }] };
}

/**
 * The series' loop: calls the op on the rest of the array until it is all handled or the op
 * fails; entries handled by the failing call still count. Over-report and no progress are
 * contract violations (WARN events; see the module doc for the errnos).
 */
export function hwptInvalidateLoop(
  array: UserDataArray,
  op: CacheInvalidateOp,
  opts: { readonly log: Iommufd["log"] },
): HwptInvalidateResult {
  const total = array.entryNum;
  const calls: OpCall[] = [];
  let done = 0;
  for (;;) {
    const uptr = u64(array.uptr + BigInt(done) * BigInt(array.entryLen));
    const sub: UserDataArray = { ...array, uptr, entryNum: total - done };
    const given = sub.entryNum;
    const rc = op(sub);
    const handled = sub.entryNum;
    calls.push({ uptr, given, handled, rc });
    if (handled > given) {
      warn(opts.log, FN, `driver op reported ${handled} entries handled of ${given} given`);
      return { rc: rc === 0 ? "EINVAL" : rc, entryNum: done, calls };
    }
    done += handled;
    if (rc !== 0 || done === total) return { rc, entryNum: done, calls };
    if (handled === 0) {
      warn(opts.log, FN, `driver op returned 0 with none of ${given} entries handled`);
      return { rc: "EINVAL", entryNum: done, calls };
    }
  }
}

/**
 * Follows iommufd_hwpt_invalidate() up to (not including) the response copy: `__reserved`
 * must be 0 (EOPNOTSUPP); a non-empty array needs a pointer and an entry length (EINVAL);
 * `hwpt_id` must name an object (ENOENT), which must be a nested HWPT or a vIOMMU (EINVAL)
 * whose driver has an op (EOPNOTSUPP). `entryNum` is 0 whenever the op did not run.
 */
export function hwptInvalidateUcmd(
  fd: Iommufd,
  cmd: HwptInvalidateCmd,
  opts: HwptInvalidateOptions = {},
): HwptInvalidateResult {
  const failed = (rc: Rc): HwptInvalidateResult => ({ rc, entryNum: 0, calls: [] });
  if (cmd.reserved !== 0) return failed("EOPNOTSUPP");
  if (cmd.entryNum !== 0 && (cmd.dataUptr === 0n || cmd.entryLen === 0)) return failed("EINVAL");
  const obj = objectGet(fd, cmd.hwptId);
  if (obj === "ENOENT") return failed(obj);
  const op = opOf(fd, obj, opts);
  if (typeof op !== "function") return failed(op);
  const array: UserDataArray = {
    type: cmd.dataType,
    uptr: cmd.dataUptr,
    entryLen: cmd.entryLen,
    entryNum: cmd.entryNum,
  };
  const variant = opts.variant ?? IOMMUFD_DEFAULT_VARIANT;
  return variant === "driver-loop"
    ? hwptInvalidateOnce(array, op)
    : hwptInvalidateLoop(array, op, { log: fd.log });
}
