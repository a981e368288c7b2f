import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { smmuCreate } from "../../../../lib/hw/smmuv3/smmu.ts";
import {
  armSmmuDeviceAdd,
  armSmmuDriverCreate,
  armSmmuInstance,
  drvAllocFails,
  drvDmaAlloc,
  idAllocLowest,
} from "../../../../lib/drivers/arm-smmu-v3/driver.ts";

Deno.test("armSmmuDriverCreate() starts empty, mainline, with shared identity/blocked domains", () => {
  const drv = armSmmuDriverCreate(eventLogCreate());
  assert.equal(drv.variant, "mainline");
  assert.deepEqual([drv.asidXa.size, drv.masters.size, drv.domains.size], [0, 0, 0]);
  assert.deepEqual(drv.blockedDomain, { name: "blocked", type: "blocked" });
  assert.equal(armSmmuDriverCreate(eventLogCreate(), { variant: "v9" }).variant, "v9");
});

Deno.test("armSmmuDeviceAdd() registers an instance once; armSmmuInstance() finds it", () => {
  const log = eventLogCreate();
  const drv = armSmmuDriverCreate(log);
  const smmu = smmuCreate("smmu0", log);
  const inst = armSmmuDeviceAdd(drv, smmu, { attrTypesOvr: true });
  assert.equal(armSmmuInstance(drv, smmu), inst);
  assert.equal(inst.pgsizeBitmap, (1n << 12n) | (1n << 21n) | (1n << 30n));
  assert.deepEqual([inst.attrTypesOvr, inst.cd2l, inst.s2fwb], [true, true, false]);
  assert.throws(() => armSmmuDeviceAdd(drv, smmu), RangeError);
  assert.throws(() => armSmmuInstance(drv, smmuCreate("other", log)), TypeError);
});

Deno.test("idAllocLowest() picks the lowest free id in range, -1 when full", () => {
  assert.equal(idAllocLowest(new Set([1, 2, 4]), { lo: 1, hi: 10 }), 3);
  assert.equal(idAllocLowest(new Map([[1, "a"]]), { lo: 1, hi: 1 }), -1);
  assert.equal(idAllocLowest(new Set<number>(), { lo: 1, hi: 255 }), 1);
});

Deno.test("drvDmaAlloc() hands out aligned, disjoint addresses; drvAllocFails() counts down", () => {
  const drv = armSmmuDriverCreate(eventLogCreate());
  const a = drvDmaAlloc(drv, 0x1000n);
  const b = drvDmaAlloc(drv, 0x10000n);
  assert.equal(b % 0x10000n, 0n);
  assert.ok(b >= a + 0x1000n);
  drv.nomem = 2;
  assert.deepEqual([drvAllocFails(drv), drvAllocFails(drv), drvAllocFails(drv)], [
    true,
    true,
    false,
  ]);
});

Deno.test("the driver state survives structuredClone (plain data)", () => {
  const log = eventLogCreate();
  const drv = armSmmuDriverCreate(log);
  armSmmuDeviceAdd(drv, smmuCreate("smmu0", log));
  const copy = structuredClone(drv);
  assert.deepEqual(copy, drv);
  assert.notEqual(copy.instances, drv.instances);
});
