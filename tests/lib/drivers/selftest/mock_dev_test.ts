import assert from "node:assert/strict";
import { mockDevCreate } from "../../../../lib/drivers/selftest/mod.ts";

Deno.test("mockDevCreate() fills the four cache slots with IOMMU_TEST_DEV_CACHE_DEFAULT", () => {
  const a = mockDevCreate();
  const b = mockDevCreate();
  assert.deepEqual(a.cache, [0xbaddad, 0xbaddad, 0xbaddad, 0xbaddad]);
  a.cache[0] = 0;
  assert.equal(b.cache[0], 0xbaddad);
});
