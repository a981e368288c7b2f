import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import { smmuCreate } from "../../../lib/hw/smmuv3/smmu.ts";
import {
  deviceBind,
  hwptAllocPaging,
  ioasAlloc,
  iommufdCreate,
  vdeviceAlloc,
  viommuAlloc,
} from "../../../lib/iommufd/mod.ts";
import { objectExpect } from "../../../lib/iommufd/ctx.ts";

function world() {
  const log = eventLogCreate();
  const fd = iommufdCreate(log);
  const ioas = ioasAlloc(fd);
  const parent = hwptAllocPaging(fd, { ioasId: ioas, nestParent: true });
  return { log, fd, ioas, parent };
}

Deno.test("viommuAlloc() needs a nest-parent HWPT", () => {
  const w = world();
  const plain = hwptAllocPaging(w.fd, { ioasId: w.ioas });
  assert.throws(
    () => viommuAlloc(w.fd, { hwptId: plain, viommu: { driver: "selftest" } }),
    /nest parent/,
  );
  assert.ok(viommuAlloc(w.fd, { hwptId: w.parent, viommu: { driver: "selftest" } }) > 0);
});

Deno.test("viommuAlloc() refuses an SMMU without nesting or with cmdq_force_sync", () => {
  const w = world();
  const plain = smmuCreate("s0", w.log);
  const mmu700 = smmuCreate("s1", w.log, { features: ["nesting"], options: ["cmdq_force_sync"] });
  for (const smmu of [plain, mmu700]) {
    assert.throws(
      () =>
        viommuAlloc(w.fd, { hwptId: w.parent, viommu: { driver: "arm-smmu-v3", smmu, vmid: 1 } }),
      TypeError,
    );
  }
});

Deno.test("vdeviceAlloc() records the virtual ID in its vIOMMU", () => {
  const w = world();
  const v = viommuAlloc(w.fd, { hwptId: w.parent, viommu: { driver: "selftest" } });
  const dev = deviceBind(w.fd, { driver: "selftest" });
  const vdev = vdeviceAlloc(w.fd, { viommuId: v, deviceId: dev, virtId: 0x99 });
  assert.deepEqual([...objectExpect(w.fd, v, "VIOMMU").vdevs], [[0x99n, vdev]]);
  assert.throws(
    () => vdeviceAlloc(w.fd, { viommuId: v, deviceId: dev, virtId: 0x99n }),
    /already used/,
  );
});

Deno.test("vdeviceAlloc() on an ARM vIOMMU needs a single-SID SMMUv3 device", () => {
  const w = world();
  const smmu = smmuCreate("s0", w.log, { features: ["nesting"] });
  const v = viommuAlloc(w.fd, {
    hwptId: w.parent,
    viommu: { driver: "arm-smmu-v3", smmu, vmid: 1 },
  });
  const two = deviceBind(w.fd, { driver: "arm-smmu-v3", sids: [1, 2] });
  const mock = deviceBind(w.fd, { driver: "selftest" });
  assert.throws(
    () => vdeviceAlloc(w.fd, { viommuId: v, deviceId: two, virtId: 1 }),
    /2 stream IDs/,
  );
  assert.throws(() => vdeviceAlloc(w.fd, { viommuId: v, deviceId: mock, virtId: 1 }), TypeError);
});
