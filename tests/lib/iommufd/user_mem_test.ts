import assert from "node:assert/strict";
import {
  PAGE_SIZE,
  userMemCreate,
  userMemMap,
  userMemPoke,
  userMemRead,
  userMemUnmap,
  userMemWrite,
} from "../../../lib/iommufd/mod.ts";

Deno.test("userMemMap() maps whole zero-filled pages covering the range", () => {
  const mem = userMemCreate();
  userMemMap(mem, 0x1ff0n, 0x20);
  assert.deepEqual([...mem.pages.keys()], [1n, 2n]);
  const r = userMemRead(mem, 0x1000n, 0x2000);
  assert.equal(r.done, 0x2000);
  assert.ok(r.bytes.every((b) => b === 0));
});

Deno.test("userMemRead() stops at the first unmapped byte and reports how far it got", () => {
  const mem = userMemCreate();
  userMemMap(mem, 0x1000n, 1);
  const r = userMemRead(mem, 0x1ffen, 4);
  assert.equal(r.done, 2);
  assert.equal(userMemRead(mem, 0x3000n, 1).done, 0);
});

Deno.test("userMemWrite() skips read-only pages; userMemPoke() writes them", () => {
  const mem = userMemCreate();
  userMemMap(mem, 0x1000n, 1, { writable: false });
  assert.equal(userMemWrite(mem, 0x1000n, new Uint8Array([1])), 0);
  userMemPoke(mem, 0x1000n, new Uint8Array([7]));
  assert.equal(userMemRead(mem, 0x1000n, 1).bytes[0], 7);
  assert.throws(() => userMemPoke(mem, 0x2000n, new Uint8Array([1])), RangeError);
});

Deno.test("userMemUnmap() removes every overlapping page", () => {
  const mem = userMemCreate();
  userMemMap(mem, 0n, Number(4n * PAGE_SIZE));
  userMemUnmap(mem, 0x1800n, 0x1000);
  assert.deepEqual([...mem.pages.keys()], [0n, 3n]);
});

Deno.test("userMemRead() of a range that wraps past 2^64 faults at once", () => {
  const mem = userMemCreate();
  const top = (1n << 64n) - PAGE_SIZE;
  userMemMap(mem, top, Number(PAGE_SIZE));
  userMemMap(mem, 0n, 1);
  assert.equal(userMemRead(mem, top, Number(PAGE_SIZE)).done, Number(PAGE_SIZE));
  assert.equal(userMemRead(mem, top + 0xff0n, 0x20).done, 0);
});

Deno.test("a UserMem survives structuredClone", () => {
  const mem = userMemCreate();
  userMemMap(mem, 0x1000n, 8, { writable: false });
  userMemPoke(mem, 0x1000n, new Uint8Array([5]));
  const copy = structuredClone(mem);
  assert.equal(userMemRead(copy, 0x1000n, 1).bytes[0], 5);
  assert.ok(copy.readonly.has(1n));
});
