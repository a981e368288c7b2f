import assert from "node:assert/strict";
import fc from "fast-check";
import { eventLogCreate } from "../../../lib/events.ts";
import { smmuCreate } from "../../../lib/hw/smmuv3/smmu.ts";
import {
  type CacheInvalidateOp,
  type Errno,
  hwptAllocNested,
  hwptInvalidate,
  hwptInvalidateLoop,
  hwptInvalidateOnce,
  hwptInvalidateUcmd,
  hwptMockIotlb,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
  IOMMUFD_VARIANTS,
  type Rc,
  type UserDataArray,
  viommuAlloc,
} from "../../../lib/iommufd/mod.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";
import { arbChunk, arbSelftestEntries, arbViommuEntries, arbVtdEntries } from "./arbitraries.ts";
import { selftestNestedWorld, selftestViommuWorld } from "./fixtures.ts";

const BASE = 0x10000n;
const LEN = 8;

// A synthetic op over an array at BASE: handles up to `limit` entries per call, and fails
// with `fail.rc` on reaching entry `fail.at` (having handled the entries before it).
function chunkedOp(limit: number, fail?: { at: number; rc: Errno }): CacheInvalidateOp {
  return (a: UserDataArray): Rc => {
    const start = Number((a.uptr - BASE) / BigInt(a.entryLen));
    const n = Math.min(a.entryNum, limit);
    if (fail && fail.at >= start && fail.at < start + n) {
      a.entryNum = fail.at - start;
      return fail.rc;
    }
    a.entryNum = n;
    return 0;
  };
}

const arrayOf = (n: number): UserDataArray => ({
  type: 0,
  uptr: BASE,
  entryLen: LEN,
  entryNum: n,
});

Deno.test("hwptInvalidateLoop() calls a chunked op ceil(N/c) times until done (D3)", async (t) => {
  // iommufd.md §5.4 D3: the sum of the per-call counts is the total; one probe call for N 0.
  for (const [c, n, calls] of [[1, 5, 5], [2, 5, 3], [63, 130, 3], [63, 126, 2], [4, 0, 1]]) {
    await t.step(`c=${c} N=${n}`, () => {
      const log = eventLogCreate();
      const r = hwptInvalidateLoop(arrayOf(n), chunkedOp(c), { log });
      assert.deepEqual([r.rc, r.entryNum, r.calls.length], [0, n, calls]);
      assert.deepEqual(log.events, []);
    });
  }
});

Deno.test("hwptInvalidateLoop() stops at the first error and counts what the failing call handled", () => {
  const log = eventLogCreate();
  // Chunks of 4: calls handle 0-3, 4-7, then 8 and 9 before failing at 10.
  const r = hwptInvalidateLoop(arrayOf(20), chunkedOp(4, { at: 10, rc: "EIO" }), { log });
  assert.deepEqual([r.rc, r.entryNum], ["EIO", 10]);
  assert.deepEqual(r.calls.map((c) => [c.given, c.handled, c.rc]), [
    [20, 4, 0],
    [16, 4, 0],
    [12, 2, "EIO"],
  ]);
});

Deno.test("hwptInvalidateLoop() probes a zero-length array with exactly one call", () => {
  const seen: number[] = [];
  const r = hwptInvalidateLoop(arrayOf(0), (a) => {
    seen.push(a.entryNum);
    return "EINVAL"; // e.g. an unsupported data type
  }, { log: eventLogCreate() });
  assert.deepEqual(seen, [0]);
  assert.deepEqual([r.rc, r.entryNum], ["EINVAL", 0]);
});

Deno.test("hwptInvalidateLoop() WARNs and fails EINVAL when an op makes no progress (D4)", () => {
  const log = eventLogCreate();
  let calls = 0;
  const r = hwptInvalidateLoop(arrayOf(5), (a) => {
    a.entryNum = calls++ === 0 ? 2 : 0; // two entries, then nothing, rc 0
    return 0;
  }, { log });
  assert.deepEqual([r.rc, r.entryNum, r.calls.length], ["EINVAL", 2, 2]);
  assert.deepEqual(log.events.map((e) => e.kind === "warn" && e.fn), ["iommufd_hwpt_invalidate"]);
});

Deno.test("hwptInvalidateLoop() does not count an over-report, and WARNs", async (t) => {
  for (const [rc, want] of [[0, "EINVAL"], ["EIO", "EIO"]] as const) {
    await t.step(`op returns ${rc}`, () => {
      const log = eventLogCreate();
      let calls = 0;
      const r = hwptInvalidateLoop(arrayOf(5), (a) => {
        if (calls++ === 0) {
          a.entryNum = 3;
          return 0;
        }
        a.entryNum = a.entryNum + 1; // claims 3 of the 2 it was given
        return rc;
      }, { log });
      assert.deepEqual([r.rc, r.entryNum], [want, 3]);
      assert.equal(log.events.filter((e) => e.kind === "warn").length, 1);
    });
  }
});

Deno.test("hwptInvalidateOnce() passes an over-report through unchecked (pre-series)", () => {
  const r = hwptInvalidateOnce(arrayOf(5), (a) => {
    a.entryNum = 7;
    return 0;
  });
  assert.deepEqual([r.rc, r.entryNum, r.calls.length], [0, 7, 1]);
});

Deno.test("hwptInvalidateLoop() and hwptInvalidateOnce() agree on whole-array ops, and chunked ops agree with them", () => {
  const arbFail = fc.option(
    fc.record({ at: fc.nat(299), rc: fc.constantFrom<Errno>("EIO", "EINVAL", "EFAULT") }),
    { nil: undefined },
  );
  fc.assert(
    fc.property(fc.nat(300), arbChunk, arbFail, (n, c, f) => {
      const fail = f && f.at < n ? f : undefined;
      const want = { rc: fail ? fail.rc : 0, entryNum: fail ? fail.at : n };
      const log = eventLogCreate();
      const once = hwptInvalidateOnce(arrayOf(n), chunkedOp(Infinity, fail));
      const whole = hwptInvalidateLoop(arrayOf(n), chunkedOp(Infinity, fail), { log });
      const chunked = hwptInvalidateLoop(arrayOf(n), chunkedOp(c, fail), { log });
      assert.deepEqual({ rc: once.rc, entryNum: once.entryNum }, want);
      assert.deepEqual({ rc: whole.rc, entryNum: whole.entryNum }, want);
      assert.deepEqual({ rc: chunked.rc, entryNum: chunked.entryNum }, want);
      assert.equal(whole.calls.length, 1);
      // The call that fails is the one holding entry `at`; without a failure, ceil(n / c).
      assert.equal(
        chunked.calls.length,
        fail ? Math.floor(fail.at / c) + 1 : Math.max(1, Math.ceil(n / c)),
      );
      assert.deepEqual(log.events, []);
    }),
    PROPERTY_SETTINGS,
  );
});

// The real ops: the pre-series op gives the same result under both cores, and the converted
// op with any chunk size under the core loop gives the pre-series result.
Deno.test("hwptInvalidate() mock nested HWPT: same results in both forms over random arrays", () => {
  fc.assert(
    fc.property(arbSelftestEntries, arbChunk, (entries, chunk) => {
      const results = (["driver-loop", "core-loop", "mixed"] as const).map((form) => {
        const w = selftestNestedWorld();
        const r = hwptInvalidate(w.fd, { hwptId: w.nested[0], entries }, {
          variant: form === "driver-loop" ? "driver-loop" : "core-loop",
          opVariant: form === "core-loop" ? "core-loop" : "driver-loop",
          chunk,
        });
        return {
          rc: r.rc,
          entryNum: r.entryNum,
          iotlb: hwptMockIotlb(w.fd, w.nested[0]),
          calls: r.opCalls,
        };
      });
      const [pre, post, mixed] = results;
      assert.deepEqual({ ...post, calls: pre.calls }, pre);
      assert.deepEqual(mixed, pre);
      assert.equal(pre.calls, 1);
    }),
    PROPERTY_SETTINGS,
  );
});

Deno.test("hwptInvalidate() mock vIOMMU: same results in both forms over random arrays", () => {
  fc.assert(
    fc.property(
      arbViommuEntries,
      arbChunk,
      fc.integer({ min: 1, max: 12 }),
      (entries, chunk, len) => {
        // entry_len ≤ 12 has no tail, where the two forms could differ (iommufd.md §4.4).
        const results = IOMMUFD_VARIANTS.map((variant) => {
          const w = selftestViommuWorld();
          const r = hwptInvalidate(w.fd, { hwptId: w.viommu, entries, entryLen: len }, {
            variant,
            chunk,
          });
          return [
            r.rc,
            r.entryNum,
            [...w.fd.objects.values()].flatMap((o) =>
              o.type === "DEVICE" && o.dev.driver === "selftest" ? o.dev.cache : []
            ),
          ];
        });
        assert.deepEqual(results[0], results[1]);
      },
    ),
    PROPERTY_SETTINGS,
  );
});

Deno.test("hwptInvalidate() VT-d nested: same results and flushes in both forms over random arrays", () => {
  fc.assert(
    fc.property(arbVtdEntries, arbChunk, (entries, chunk) => {
      const results = IOMMUFD_VARIANTS.map((variant) => {
        const w = selftestNestedWorld();
        const id = hwptAllocNested(w.fd, {
          parentId: w.parent,
          data: { driver: "intel", name: "s1" },
        });
        const r = hwptInvalidate(w.fd, { hwptId: id, entries }, { variant, chunk });
        return [r.rc, r.entryNum, w.log.events];
      });
      assert.deepEqual(results[0], results[1]);
    }),
    PROPERTY_SETTINGS,
  );
});

Deno.test("hwptInvalidateUcmd() checks, in order: __reserved, pointer/length, ID, object type, op", async (t) => {
  const w = selftestNestedWorld();
  const arm = hwptAllocNested(w.fd, {
    parentId: viommuAlloc(w.fd, {
      hwptId: w.parent,
      viommu: {
        driver: "arm-smmu-v3",
        smmu: smmuCreate("smmu0", w.log, { features: ["nesting"] }),
        vmid: 1,
      },
    }),
    data: { driver: "arm-smmu-v3" },
  });
  const ok = {
    size: 32,
    hwptId: w.nested[0],
    dataUptr: 0x1000n,
    dataType: 0xdeadbeef,
    entryLen: 8,
    entryNum: 0,
    reserved: 0,
  };
  const rows: [string, Partial<typeof ok>, Rc][] = [
    ["__reserved before a bad ID", { reserved: 1, hwptId: 0 }, "EOPNOTSUPP"],
    ["NULL pointer before a bad ID", { entryNum: 1, dataUptr: 0n, hwptId: 0 }, "EINVAL"],
    ["zero entry_len before a bad ID", { entryNum: 1, entryLen: 0, hwptId: 0 }, "EINVAL"],
    ["NULL pointer with no entries is fine", { dataUptr: 0n, entryLen: 0 }, 0],
    ["ID 0", { hwptId: 0 }, "ENOENT"],
    ["an unknown ID", { hwptId: 999 }, "ENOENT"],
    ["an IOAS", { hwptId: w.ioas }, "EINVAL"],
    ["a device", { hwptId: w.device }, "EINVAL"],
    ["a paging HWPT", { hwptId: w.parent }, "EINVAL"],
    ["an ARM nested HWPT (no cache_invalidate_user)", { hwptId: arm }, "EOPNOTSUPP"],
  ];
  for (const [name, patch, rc] of rows) {
    await t.step(name, () => {
      const r = hwptInvalidateUcmd(w.fd, { ...ok, ...patch });
      assert.equal(r.rc, rc);
      assert.equal(r.entryNum, 0);
    });
  }
});

Deno.test("hwptInvalidateUcmd() probes the mock with a VT-d data type: the op rejects it", () => {
  const w = selftestNestedWorld();
  const r = hwptInvalidateUcmd(w.fd, {
    size: 32,
    hwptId: w.nested[0],
    dataUptr: 0x1000n,
    dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
    entryLen: 24,
    entryNum: 0,
    reserved: 0,
  });
  // The mock rejects a foreign type even in a probe.
  assert.deepEqual([r.rc, r.calls.length], ["EINVAL", 1]);
});
