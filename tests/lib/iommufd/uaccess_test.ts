import assert from "node:assert/strict";
import {
  checkZeroedUser,
  copyFromUser,
  copyStructFromUser,
  copyToUser,
  getUser32,
  userMemCreate,
  userMemMap,
  userMemPoke,
} from "../../../lib/iommufd/mod.ts";

// 0x1000..0x2000 mapped; a struct straddles the end at 0x1ff8.
function mem() {
  const m = userMemCreate();
  userMemMap(m, 0x1000n, 0x1000);
  return m;
}

Deno.test("getUser32() reads a little-endian u32 or faults", () => {
  const m = mem();
  userMemPoke(m, 0x1000n, new Uint8Array([0x20, 0, 0, 0]));
  assert.equal(getUser32(m, 0x1000n), 32);
  assert.equal(getUser32(m, 0x1ffen), "EFAULT");
});

Deno.test("copyFromUser() is all or EFAULT; copyToUser() writes up to the fault", () => {
  const m = mem();
  assert.equal(copyFromUser(m, 0x1ff0n, 0x20), "EFAULT");
  assert.equal(copyToUser(m, 0x1ffcn, new Uint8Array([1, 2, 3, 4, 5, 6])), "EFAULT");
  assert.deepEqual(copyFromUser(m, 0x1ffcn, 4), new Uint8Array([1, 2, 3, 4]));
});

Deno.test("checkZeroedUser() reports the first of a non-zero byte or a fault", () => {
  const m = mem();
  assert.equal(checkZeroedUser(m, 0x1ff0n, 0x10), 1);
  assert.equal(checkZeroedUser(m, 0x1ff0n, 0x20), "EFAULT");
  userMemPoke(m, 0x1ffen, new Uint8Array([1]));
  assert.equal(checkZeroedUser(m, 0x1ff0n, 0x20), 0);
  assert.equal(checkZeroedUser(m, 0x1ff0n, 0), 1);
});

// copy_struct_from_user() rules (iommufd.md §3.1), ksize 12 at 0x1ff0.
const ROWS: readonly [string, number, Uint8Array | string][] = [
  ["shorter: zero-extended", 4, new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ["equal", 12, new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ["longer, zero tail", 16, new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ["longer, non-zero tail", 16, "E2BIG"],
  ["longer, tail runs into a fault", 20, "EFAULT"],
];

Deno.test("copyStructFromUser() zero-extends, requires a zero tail, faults", async (t) => {
  for (const [name, usize, want] of ROWS) {
    await t.step(name, () => {
      const m = mem();
      userMemPoke(m, 0x1ff0n, new Uint8Array([7]));
      if (want === "E2BIG") userMemPoke(m, 0x1ffdn, new Uint8Array([1]));
      assert.deepEqual(copyStructFromUser(m, 0x1ff0n, { ksize: 12, usize }), want);
    });
  }
});

Deno.test("copyStructFromUser() checks the tail before the head: E2BIG beats a head fault", () => {
  // Head page unmapped, tail page mapped with a non-zero byte.
  const m = userMemCreate();
  userMemMap(m, 0x2000n, 0x1000);
  userMemPoke(m, 0x2002n, new Uint8Array([1]));
  assert.equal(copyStructFromUser(m, 0x1ff8n, { ksize: 8, usize: 16 }), "E2BIG");
  assert.equal(copyStructFromUser(m, 0x1ff8n, { ksize: 8, usize: 8 }), "EFAULT");
});
