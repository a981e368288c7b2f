import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  deviceBind,
  deviceMockCache,
  ioasAlloc,
  iommufdCreate,
  objectGet,
} from "../../../lib/iommufd/mod.ts";

Deno.test("deviceBind() makes a mock device with every cache slot at 0xbaddad", () => {
  const fd = iommufdCreate(eventLogCreate());
  const id = deviceBind(fd, { driver: "selftest" });
  assert.deepEqual(deviceMockCache(fd, id), [0xbaddad, 0xbaddad, 0xbaddad, 0xbaddad]);
});

Deno.test("deviceBind() keeps an SMMUv3 device's stream IDs", () => {
  const fd = iommufdCreate(eventLogCreate());
  const id = deviceBind(fd, { driver: "arm-smmu-v3", sids: [0x10, 0x11] });
  const obj = objectGet(fd, id);
  assert.ok(obj !== "ENOENT" && obj.type === "DEVICE");
  assert.deepEqual(obj.dev, { driver: "arm-smmu-v3", sids: [0x10, 0x11] });
  assert.throws(() => deviceMockCache(fd, id), TypeError);
});

Deno.test("ioasAlloc() makes an IOAS", () => {
  const fd = iommufdCreate(eventLogCreate());
  const id = ioasAlloc(fd);
  assert.deepEqual(objectGet(fd, id), { type: "IOAS", id });
});
