import assert from "node:assert/strict";
import {
  IOMMU_TEST_INVALIDATE_FLAG_ALL as ALL,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST as V,
  mockDevCreate,
  mockViommuCacheInvalidate,
} from "../../../../lib/drivers/selftest/mod.ts";
import { entriesEncode, IOMMUFD_VARIANTS } from "../../../../lib/iommufd/mod.ts";
import { opSetup } from "../../iommufd/fixtures.ts";

const DC = 0xbaddad;
const enc = (...e: [number, number, number][]) =>
  entriesEncode(
    e.map(([flags, vdevId, cacheId]) => ({ kind: "selftest_viommu", flags, vdevId, cacheId })),
  );

function devs() {
  const a = mockDevCreate();
  const b = mockDevCreate();
  return { a, b, map: new Map([[0x99n, a], [0x42n, b]]) };
}

Deno.test("mockViommuCacheInvalidate() invalidates the device behind each virtual ID", () => {
  for (const variant of IOMMUFD_VARIANTS) {
    const d = devs();
    const { array, ctx } = opSetup(enc([0, 0x99, 1], [ALL, 0x42, 3]), {
      type: V,
      entryLen: 12,
      entryNum: 2,
      variant,
      chunk: 2,
    });
    assert.equal(mockViommuCacheInvalidate(d.map, array, ctx), 0);
    assert.equal(array.entryNum, 2);
    assert.deepEqual([d.a.cache, d.b.cache], [[DC, 0, DC, DC], [0, 0, 0, 0]]);
  }
});

Deno.test("mockViommuCacheInvalidate() checks flags, then slot, then the vDEVICE", async (t) => {
  const rows: [string, [number, number, number], string][] = [
    ["unknown flag, bad slot, unknown vdev", [2, 0x7, 9], "EOPNOTSUPP"],
    ["bad slot, unknown vdev", [0, 0x7, 9], "EINVAL"],
    ["FLAG_ALL with an unknown vdev", [ALL, 0x7, 0], "EINVAL"],
    ["FLAG_ALL with slot 4", [ALL, 0x99, 4], "EINVAL"],
  ];
  for (const [name, e, rc] of rows) {
    await t.step(name, () => {
      const d = devs();
      const { array, ctx } = opSetup(enc(e), {
        type: V,
        entryLen: 12,
        entryNum: 1,
        variant: "driver-loop",
      });
      assert.equal(mockViommuCacheInvalidate(d.map, array, ctx), rc);
      assert.deepEqual(d.a.cache, [DC, DC, DC, DC]);
    });
  }
});

Deno.test("mockViommuCacheInvalidate() zero-length: a probe for its type, EINVAL otherwise", () => {
  for (const variant of IOMMUFD_VARIANTS) {
    for (const [type, rc] of [[V, 0], [0xdadbeef, "EINVAL"]] as const) {
      const { array, ctx } = opSetup(new Uint8Array(0), {
        type,
        entryLen: 12,
        entryNum: 0,
        variant,
      });
      assert.equal(mockViommuCacheInvalidate(devs().map, array, ctx), rc);
      assert.equal(array.entryNum, 0);
    }
  }
});

Deno.test("mockViommuCacheInvalidate() pre-series copies everything first: a bad entry 1 tail stops entry 0", () => {
  // entry_len 16, entry 1 has a non-zero byte past the kernel's 12: E2BIG before any entry.
  const bytes = new Uint8Array(32);
  bytes.set(enc([0, 0x99, 0]), 0);
  bytes.set(enc([0, 0x99, 1]), 16);
  bytes[30] = 1;
  const d = devs();
  const { array, ctx } = opSetup(bytes, {
    type: V,
    entryLen: 16,
    entryNum: 2,
    variant: "driver-loop",
  });
  assert.equal(mockViommuCacheInvalidate(d.map, array, ctx), "E2BIG");
  assert.equal(array.entryNum, 0);
  assert.deepEqual(d.a.cache, [DC, DC, DC, DC]);
});

Deno.test("mockViommuCacheInvalidate() pre-series ENOMEM leaves entry_num as given", () => {
  const { array, ctx } = opSetup(new Uint8Array(12), {
    type: V,
    entryLen: 12,
    entryNum: 400000,
    variant: "driver-loop",
  });
  assert.equal(mockViommuCacheInvalidate(devs().map, array, ctx), "ENOMEM");
  assert.equal(array.entryNum, 400000);
});
