import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  cacheInvalidatePerEntry,
  entriesPerCall,
  IOMMUFD_DEFAULT_VARIANT,
  userMemCreate,
} from "../../../lib/iommufd/mod.ts";
import { opSetup } from "./fixtures.ts";

const base = { mem: userMemCreate(), log: eventLogCreate() };
const array = { type: 0, uptr: 0x1000n, entryLen: 8, entryNum: 5 };

Deno.test("entriesPerCall() is the whole array before the series, one chunk after it", () => {
  assert.equal(entriesPerCall({ ...base, variant: "driver-loop", chunk: 2 }, array), 5);
  assert.equal(entriesPerCall({ ...base, variant: "core-loop" }, array), 1);
  assert.equal(entriesPerCall({ ...base, variant: "core-loop", chunk: 3 }, array), 3);
  assert.equal(entriesPerCall({ ...base, variant: "core-loop", chunk: 9 }, array), 5);
  assert.throws(
    () => entriesPerCall({ ...base, variant: "core-loop", chunk: 0 }, array),
    RangeError,
  );
});

Deno.test("IOMMUFD_DEFAULT_VARIANT is the series' core loop", () => {
  assert.equal(IOMMUFD_DEFAULT_VARIANT, "core-loop");
});

Deno.test("cacheInvalidatePerEntry() type-checks first, then applies entries until one fails", async (t) => {
  const bytes = new Uint8Array([1, 2, 3, 4]); // four 1-byte entries
  const kstruct = { size: 1, minLen: 1 };
  const rows: [string, number, number, "driver-loop" | "core-loop", unknown, number, number[]][] = [
    ["wrong type, probe", 9, 0, "driver-loop", "EINVAL", 0, []],
    ["right type, probe", 5, 0, "driver-loop", 0, 0, []],
    ["stops at entry 3", 5, 4, "driver-loop", "EIO", 2, [1, 2, 3]],
    ["one entry per call after the series", 5, 4, "core-loop", 0, 1, [1]],
  ];
  for (const [name, type, num, variant, rc, out, seen] of rows) {
    await t.step(name, () => {
      const { array, ctx } = opSetup(bytes, { type, entryLen: 1, entryNum: num, variant });
      const got: number[] = [];
      const r = cacheInvalidatePerEntry(array, ctx, {
        dataType: 5,
        kstruct,
        apply: (e) => (got.push(e[0]), e[0] === 3 ? "EIO" : 0),
      });
      assert.deepEqual([r, array.entryNum, got], [rc, out, seen]);
    });
  }
});
