import assert from "node:assert/strict";
import { KMALLOC_MAX_SIZE } from "../../../lib/iommufd/mod.ts";
import { kcallocFails } from "../../../lib/iommufd/kmalloc.ts";

Deno.test("kcallocFails() only past KMALLOC_MAX_SIZE (4 MiB), never for 0 objects", () => {
  assert.equal(KMALLOC_MAX_SIZE, 1 << 22);
  assert.equal(kcallocFails(0, 16), false);
  assert.equal(kcallocFails(262144, 16), false); // exactly 4 MiB
  assert.equal(kcallocFails(262145, 16), true);
  assert.equal(kcallocFails(0xffffffff, 12), true);
});
