import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  deviceBind,
  hwptAllocPaging,
  ioasAlloc,
  iommufdCreate,
  objectDestroy,
  objectGet,
} from "../../../lib/iommufd/mod.ts";
import { objectExpect } from "../../../lib/iommufd/ctx.ts";
import { armWorld, selftestViommuWorld } from "./fixtures.ts";

Deno.test("objectGet() finds IDs from 1; ID 0 never exists", () => {
  const fd = iommufdCreate(eventLogCreate());
  assert.equal(ioasAlloc(fd), 1);
  assert.equal(deviceBind(fd, { driver: "selftest" }), 2);
  assert.equal(objectGet(fd, 0), "ENOENT");
  assert.equal((objectGet(fd, 1) as { type: string }).type, "IOAS");
});

Deno.test("objectDestroy() frees the ID, and the lowest free ID is reused (xa_alloc)", () => {
  const fd = iommufdCreate(eventLogCreate());
  const a = ioasAlloc(fd);
  const b = ioasAlloc(fd);
  ioasAlloc(fd);
  assert.equal(objectDestroy(fd, b), 0);
  assert.equal(ioasAlloc(fd), b);
  assert.equal(objectDestroy(fd, a), 0);
  assert.equal(objectDestroy(fd, a), "ENOENT");
});

Deno.test("objectDestroy() refuses an object others depend on (EBUSY)", () => {
  const w = selftestViommuWorld();
  assert.equal(objectDestroy(w.fd, w.viommu), "EBUSY");
  assert.equal(objectDestroy(w.fd, w.device), "EBUSY");
  assert.equal(objectDestroy(w.fd, w.vdev), 0);
  assert.equal(objectDestroy(w.fd, w.device), 0);
  const v = objectExpect(w.fd, w.viommu, "VIOMMU");
  assert.equal(v.vdevs.size, 0);
});

Deno.test("objectExpect() names what it found instead", () => {
  const fd = iommufdCreate(eventLogCreate());
  const ioas = ioasAlloc(fd);
  hwptAllocPaging(fd, { ioasId: ioas });
  assert.throws(() => objectExpect(fd, ioas, "VIOMMU"), /it is a IOAS/);
  assert.throws(() => objectExpect(fd, 9, "VIOMMU"), /it is nothing/);
});

Deno.test("an Iommufd survives structuredClone, sharing one log with its SMMUs", () => {
  const w = armWorld();
  const world = structuredClone({ fd: w.fd, smmu: w.smmu });
  const v = objectExpect(world.fd, w.viommu, "VIOMMU");
  assert.ok(v.viommu.driver === "arm-smmu-v3" && v.viommu.smmu === world.smmu);
  assert.equal(world.smmu.cmdq.log, world.fd.log);
});
