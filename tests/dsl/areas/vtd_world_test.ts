import assert from "node:assert/strict";
import { vtdDeviceOf, vtdDomainOf, vtdOf } from "../../../dsl/areas/vtd_world.ts";
import { eventLogCreate } from "../../../lib/events.ts";
import type { World } from "../../../dsl/world.ts";

function world(vtd?: World["vtd"]): World {
  return { log: eventLogCreate(), variants: {}, iommus: {}, devices: {}, domains: {}, vtd };
}

Deno.test("vtdOf() and the lookups throw a TypeError for what the checks exclude", () => {
  assert.throws(() => vtdOf(world()), TypeError);
  const w = world({ devices: new Map(), domains: new Map() });
  assert.equal(vtdOf(w), w.vtd);
  assert.throws(() => vtdDomainOf(w, "d"), /"d" is not a VT-d domain/);
  assert.throws(() => vtdDeviceOf(w, "nic"), /"nic" is not behind a VT-d unit/);
});
