import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  copyStructFromFullUserArray,
  copyStructFromUserArray,
  copyStructFromUserData,
  type UserDataArray,
  userMemCreate,
  userMemMap,
  userMemPoke,
} from "../../../lib/iommufd/mod.ts";

const TYPE = 7;
const KS = { size: 8, minLen: 8 }; // like struct iommu_hwpt_invalidate_selftest

// Two user entries of `len` bytes at 0x1000; entry i's first byte is i + 1; `tail` puts a
// non-zero byte right after the kernel's 8 bytes of entry 0.
function setup(len: number, opts: { tail?: boolean } = {}) {
  const log = eventLogCreate();
  const mem = userMemCreate();
  userMemMap(mem, 0x1000n, 0x1000);
  userMemPoke(mem, 0x1000n, new Uint8Array([1]));
  userMemPoke(mem, 0x1000n + BigInt(len), new Uint8Array([2]));
  if (opts.tail) userMemPoke(mem, 0x1008n, new Uint8Array([9]));
  const array: UserDataArray = { type: TYPE, uptr: 0x1000n, entryLen: len, entryNum: 2 };
  return { ctx: { mem, log }, array, log };
}

function firstBytes(r: Uint8Array | Uint8Array[] | string): unknown {
  if (typeof r === "string") return r;
  return Array.isArray(r) ? r.map((e) => e[0]) : r[0];
}

// iommufd.md §3 summary table: entry_len against a kernel struct of 8 bytes, min 8.
const ROWS: readonly [string, number, boolean, unknown, unknown][] = [
  ["entry_len < min", 4, false, "EINVAL", [1, 2]],
  ["entry_len == size", 8, false, 1, [1, 2]],
  ["entry_len > size, zero tail", 12, false, "EINVAL", [1, 2]],
  ["entry_len > size, non-zero tail", 12, true, "EINVAL", "E2BIG"],
];

Deno.test("copyStructFromUserArray() and copyStructFromFullUserArray() follow the entry_len table", async (t) => {
  for (const [name, len, tail, perEntry, full] of ROWS) {
    await t.step(name, () => {
      const { ctx, array } = setup(len, { tail });
      const e = copyStructFromUserArray(ctx, array, { dataType: TYPE, index: 0, kstruct: KS });
      assert.deepEqual(firstBytes(e), perEntry);
      const f = copyStructFromFullUserArray(ctx, array, { dataType: TYPE, ksize: 8 });
      assert.deepEqual(firstBytes(f), full);
    });
  }
});

Deno.test("copyStructFromUserArray() reads entry `index` at uptr + index * entry_len", () => {
  const { ctx, array } = setup(8);
  const e = copyStructFromUserArray(ctx, array, { dataType: TYPE, index: 1, kstruct: KS });
  assert.deepEqual(firstBytes(e), 2);
});

Deno.test("copyStructFromUserArray() WARNs on an index past entry_num, EINVAL for no entries", () => {
  const { ctx, array, log } = setup(8);
  const r = copyStructFromUserArray(ctx, array, { dataType: TYPE, index: 2, kstruct: KS });
  assert.equal(r, "EINVAL");
  assert.equal(log.events.length, 1);
});

Deno.test("copyStructFromUserData() checks the type before the length", () => {
  const { ctx } = setup(8);
  const src = { type: TYPE + 1, uptr: 0x1000n, len: 1 };
  assert.equal(copyStructFromUserData(ctx, src, { dataType: TYPE, kstruct: KS }), "EINVAL");
  const fault = { type: TYPE, uptr: 0x3000n, len: 8 };
  assert.equal(copyStructFromUserData(ctx, fault, { dataType: TYPE, kstruct: KS }), "EFAULT");
});

Deno.test("copyStructFromFullUserArray() checks type, then count; faults anywhere fail it all", () => {
  const { ctx, array } = setup(8);
  const opts = { dataType: TYPE, ksize: 8 };
  assert.equal(
    copyStructFromFullUserArray(ctx, { ...array, type: 1, entryNum: 0 }, opts),
    "EINVAL",
  );
  assert.equal(copyStructFromFullUserArray(ctx, { ...array, entryNum: 0 }, opts), "EINVAL");
  // Entry 511 is the last one in the page: 512 entries of 8 bytes fault on the bulk copy,
  // and 512 entries of 4 bytes (no bulk copy) fault in the per-entry pass.
  const big = { ...array, uptr: 0x1000n, entryNum: 513 };
  assert.equal(copyStructFromFullUserArray(ctx, big, opts), "EFAULT");
  assert.equal(
    copyStructFromFullUserArray(ctx, { ...big, entryLen: 4, entryNum: 1025 }, opts),
    "EFAULT",
  );
  const fits = copyStructFromFullUserArray(ctx, { ...big, entryNum: 512 }, opts);
  assert.equal(Array.isArray(fits) && fits.length, 512);
});
