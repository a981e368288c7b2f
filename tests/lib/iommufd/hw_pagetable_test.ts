import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  hwptAllocNested,
  hwptAllocPaging,
  hwptMockIotlb,
  ioasAlloc,
  iommufdCreate,
  viommuAlloc,
} from "../../../lib/iommufd/mod.ts";

function world() {
  const fd = iommufdCreate(eventLogCreate());
  const ioas = ioasAlloc(fd);
  const parent = hwptAllocPaging(fd, { ioasId: ioas, nestParent: true });
  const plain = hwptAllocPaging(fd, { ioasId: ioas });
  return { fd, ioas, parent, plain };
}

Deno.test("hwptAllocNested() starts a mock IOTLB at the given value, 0xbadbeef by default", () => {
  const w = world();
  const a = hwptAllocNested(w.fd, { parentId: w.parent, data: { driver: "selftest" } });
  const b = hwptAllocNested(w.fd, { parentId: w.parent, data: { driver: "selftest", iotlb: 5 } });
  assert.deepEqual(hwptMockIotlb(w.fd, a), [0xbadbeef, 0xbadbeef, 0xbadbeef, 0xbadbeef]);
  assert.deepEqual(hwptMockIotlb(w.fd, b), [5, 5, 5, 5]);
});

Deno.test("hwptAllocNested() needs a nest parent or a vIOMMU of the same driver", () => {
  const w = world();
  assert.throws(
    () => hwptAllocNested(w.fd, { parentId: w.plain, data: { driver: "selftest" } }),
    TypeError,
  );
  assert.throws(
    () => hwptAllocNested(w.fd, { parentId: w.parent, data: { driver: "arm-smmu-v3" } }),
    /arm-smmu-v3 vIOMMU/,
  );
  const v = viommuAlloc(w.fd, { hwptId: w.parent, viommu: { driver: "selftest" } });
  assert.ok(hwptAllocNested(w.fd, { parentId: v, data: { driver: "selftest" } }) > 0);
  assert.throws(
    () => hwptAllocNested(w.fd, { parentId: v, data: { driver: "intel", name: "x" } }),
    TypeError,
  );
});

Deno.test("hwptAllocPaging() needs an IOAS", () => {
  const w = world();
  assert.throws(() => hwptAllocPaging(w.fd, { ioasId: w.parent }), TypeError);
});

Deno.test("hwptMockIotlb() refuses a non-mock HWPT", () => {
  const w = world();
  const id = hwptAllocNested(w.fd, { parentId: w.parent, data: { driver: "intel", name: "s1" } });
  assert.throws(() => hwptMockIotlb(w.fd, id), /intel/);
});
