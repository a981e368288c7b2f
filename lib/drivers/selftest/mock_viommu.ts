/**
 * The iommufd selftest's mock vIOMMU `cache_invalidate` op in both forms: before the
 * core-loop series it copies the whole array up front (all or nothing) and walks it; after
 * it, it copies and handles one bounded chunk per call.
 * Models mock_viommu_cache_invalidate() in drivers/iommu/iommufd/selftest.c at mainline
 * (576ad6eb45d6) and, for the converted op, patch 3/5 of the series (5519695903a4; code not
 * seen, form inferred: type check, zero-length probe, chunk copied with the full-array
 * helper, same per-entry checks).
 * @module
 */

import type { Rc } from "../../iommufd/errno.ts";
import { entriesPerCall, type OpContext } from "../../iommufd/invalidate_op.ts";
import { kcallocFails } from "../../iommufd/kmalloc.ts";
import { copyStructFromFullUserArray, type UserDataArray } from "../../iommufd/user_data.ts";
import {
  IOMMU_TEST_INVALIDATE_FLAG_ALL,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
  MOCK_DEV_CACHE_ID_MAX,
  VIOMMU_INVALIDATE_SELFTEST_SIZE,
  viommuInvalidateSelftestDecode,
} from "./iommufd_test.ts";
import type { MockDev } from "./mock_dev.ts";

/** The vIOMMU's vDEVICE table as the op reads it: virtual ID → mock device. */
export type MockVdevs = ReadonlyMap<bigint, MockDev>;

// One copied entry: flags, then the slot index (checked even under FLAG_ALL), then the
// vDEVICE lookup (also done under FLAG_ALL).
function mockViommuApply(vdevs: MockVdevs, bytes: Uint8Array): Rc {
  const inv = viommuInvalidateSelftestDecode(bytes);
  if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) return "EOPNOTSUPP";
  if (inv.cacheId > MOCK_DEV_CACHE_ID_MAX) return "EINVAL";
  const mdev = vdevs.get(BigInt(inv.vdevId));
  if (!mdev) return "EINVAL";
  if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) mdev.cache.fill(0);
  else mdev.cache[inv.cacheId] = 0;
  return 0;
}

// Copies `n` entries from the front of `array` and applies them in order; returns the error
// and how many were applied before it.
function mockViommuWalk(
  vdevs: MockVdevs,
  array: UserDataArray,
  ctx: OpContext,
  n: number,
): { rc: Rc; done: number } {
  const cmds = copyStructFromFullUserArray(ctx, { ...array, entryNum: n }, {
    dataType: IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
    ksize: VIOMMU_INVALIDATE_SELFTEST_SIZE,
  });
  if (typeof cmds === "string") return { rc: cmds, done: 0 };
  let done = 0;
  for (const bytes of cmds) {
    const rc = mockViommuApply(vdevs, bytes);
    if (rc !== 0) return { rc, done };
    done++;
  }
  return { rc: 0, done };
}

/**
 * Follows mock_viommu_cache_invalidate(): after the series, the type is checked first, a
 * zero-length array is a successful probe, and each call handles at most `ctx.chunk`
 * (default 1) entries. `ctx.variant === "driver-loop"` runs the pre-series op.
 */
export function mockViommuCacheInvalidate(
  vdevs: MockVdevs,
  array: UserDataArray,
  ctx: OpContext,
): Rc {
  if (ctx.variant === "driver-loop") return mockViommuCacheInvalidateDriverLoop(vdevs, array, ctx);
  if (array.type !== IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
    array.entryNum = 0;
    return "EINVAL";
  }
  if (array.entryNum === 0) return 0;
  const { rc, done } = mockViommuWalk(vdevs, array, ctx, entriesPerCall(ctx, array));
  array.entryNum = done;
  return rc;
}

/**
 * Follows mock_viommu_cache_invalidate() before the series: a zero-length array of the right
 * type returns at once; otherwise the whole array is allocated and copied before any entry
 * is applied (the full-array helper then rejects a wrong type, zero-length included). An
 * allocation failure returns ENOMEM without writing `entry_num`, so the core reports the
 * input count as handled (latent quirk; reachable only past `KMALLOC_MAX_SIZE`).
 */
export function mockViommuCacheInvalidateDriverLoop(
  vdevs: MockVdevs,
  array: UserDataArray,
  ctx: OpContext,
): Rc {
  if (array.entryNum === 0 && array.type === IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
    array.entryNum = 0;
    return 0;
  }
  if (kcallocFails(array.entryNum, VIOMMU_INVALIDATE_SELFTEST_SIZE)) return "ENOMEM";
  const { rc, done } = mockViommuWalk(vdevs, array, ctx, array.entryNum);
  array.entryNum = done;
  return rc;
}
