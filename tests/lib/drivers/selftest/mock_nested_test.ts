import assert from "node:assert/strict";
import {
  hwptInvalidateSelftestEncode,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST as T,
  IOMMU_TEST_INVALIDATE_FLAG_ALL as ALL,
  mockDomainAllocNested,
  mockDomainCacheInvalidateUser,
} from "../../../../lib/drivers/selftest/mod.ts";
import { entriesEncode } from "../../../../lib/iommufd/mod.ts";
import { opSetup } from "../../iommufd/fixtures.ts";

const D = 0xbadbeef;
const enc = (...e: [number, number][]) =>
  entriesEncode(e.map(([flags, iotlbId]) => ({ kind: "selftest", flags, iotlbId })));

Deno.test("mockDomainAllocNested() sets every slot to the user's iotlb", () => {
  assert.deepEqual(mockDomainAllocNested(7).iotlb, [7, 7, 7, 7]);
});

Deno.test("mockDomainCacheInvalidateUser() walks the whole array before the series", () => {
  const d = mockDomainAllocNested(D);
  const { array, ctx } = opSetup(enc([0, 0], [0, 2], [0, 9], [0, 1]), {
    type: T,
    entryLen: 8,
    entryNum: 4,
    variant: "driver-loop",
  });
  assert.equal(mockDomainCacheInvalidateUser(d, array, ctx), "EINVAL");
  assert.equal(array.entryNum, 2);
  assert.deepEqual(d.iotlb, [0, D, 0, D]);
});

Deno.test("mockDomainCacheInvalidateUser() handles one chunk per call after the series", async (t) => {
  for (const [chunk, out, iotlb] of [[1, 1, [0, D, D, D]], [3, 3, [0, 0, 0, D]]] as const) {
    await t.step(`chunk ${chunk}`, () => {
      const d = mockDomainAllocNested(D);
      const { array, ctx } = opSetup(enc([0, 0], [0, 1], [0, 2], [0, 3]), {
        type: T,
        entryLen: 8,
        entryNum: 4,
        variant: "core-loop",
        chunk,
      });
      assert.equal(mockDomainCacheInvalidateUser(d, array, ctx), 0);
      assert.equal(array.entryNum, out);
      assert.deepEqual(d.iotlb, iotlb);
    });
  }
});

Deno.test("mockDomainCacheInvalidateUser() checks flags before the slot, the slot even under FLAG_ALL", async (t) => {
  // iommufd.md §5.2 note: {FLAG_ALL, id 4} is EINVAL (derived, not a selftest row).
  const rows: [string, [number, number], string | 0, number[]][] = [
    ["unknown flag and bad slot", [2, 9], "EOPNOTSUPP", [D, D, D, D]],
    ["FLAG_ALL with slot 4", [ALL, 4], "EINVAL", [D, D, D, D]],
    ["FLAG_ALL with slot 3", [ALL, 3], 0, [0, 0, 0, 0]],
  ];
  for (const variant of ["driver-loop", "core-loop"] as const) {
    for (const [name, e, rc, iotlb] of rows) {
      await t.step(`${name} (${variant})`, () => {
        const d = mockDomainAllocNested(D);
        const { array, ctx } = opSetup(enc(e), { type: T, entryLen: 8, entryNum: 1, variant });
        assert.equal(mockDomainCacheInvalidateUser(d, array, ctx), rc);
        assert.deepEqual(d.iotlb, iotlb);
      });
    }
  }
});

Deno.test("mockDomainCacheInvalidateUser() rejects a wrong type even in a probe", () => {
  for (const variant of ["driver-loop", "core-loop"] as const) {
    const d = mockDomainAllocNested(D);
    const { array, ctx } = opSetup(new Uint8Array(0), {
      type: 0,
      entryLen: 8,
      entryNum: 0,
      variant,
    });
    assert.equal(mockDomainCacheInvalidateUser(d, array, ctx), "EINVAL");
    assert.equal(array.entryNum, 0);
  }
});

Deno.test("mockDomainCacheInvalidateUser() needs entry_len == 8 exactly", () => {
  for (const len of [7, 9]) {
    const d = mockDomainAllocNested(D);
    const bytes = new Uint8Array(16);
    bytes.set(hwptInvalidateSelftestEncode({ flags: 0, iotlbId: 0 }));
    const { array, ctx } = opSetup(bytes, {
      type: T,
      entryLen: len,
      entryNum: 1,
      variant: "driver-loop",
    });
    assert.equal(mockDomainCacheInvalidateUser(d, array, ctx), "EINVAL");
    assert.deepEqual(d.iotlb, [D, D, D, D]);
  }
});
