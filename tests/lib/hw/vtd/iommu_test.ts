import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import {
  nestedSupported,
  pasidSupported,
  smSupported,
  VTD_CAPS,
  VTD_DEFAULT_CAPS,
  vtdIommuCreate,
} from "../../../../lib/hw/vtd/iommu.ts";

Deno.test("vtdIommuCreate() sets exactly the capabilities asked for", () => {
  const log = eventLogCreate();
  const a = vtdIommuCreate("dmar0", log);
  for (const c of VTD_CAPS) assert.equal(a.caps[c], VTD_DEFAULT_CAPS.includes(c), c);
  assert.equal(a.mamv, 18);
  assert.equal(a.translationEnabled, true);
  assert.notEqual(a.qi, null);
  const b = vtdIommuCreate("dmar1", log, { caps: ["qis", "caching_mode"], mamv: 2, seqId: 1 });
  assert.equal(b.caps.caching_mode, true);
  assert.equal(b.caps.psi, false);
  assert.equal(b.mamv, 2);
  assert.notEqual(a.qi?.statusBase, b.qi?.statusBase);
});

Deno.test("vtdIommuCreate() rejects a MAMV that does not fit CAP bits 53:48", () => {
  assert.throws(() => vtdIommuCreate("dmar0", eventLogCreate(), { mamv: 64 }), /6 bits/);
});

Deno.test("smSupported() and friends need scalable mode first", () => {
  const log = eventLogCreate();
  const legacy = vtdIommuCreate("dmar0", log, { caps: ["qis", "pasid", "nest"] });
  assert.equal(smSupported(legacy), false);
  assert.equal(pasidSupported(legacy), false);
  assert.equal(nestedSupported(legacy), false);
  const sm = vtdIommuCreate("dmar1", log);
  assert.equal(pasidSupported(sm), true);
  assert.equal(nestedSupported(sm), true);
});

Deno.test("vtdIommuCreate() gives a plain-data unit that structuredClone copies", () => {
  const a = vtdIommuCreate("dmar0", eventLogCreate());
  a.didsInUse.add(2);
  const b = structuredClone(a);
  assert.deepEqual(b, a);
  b.didsInUse.add(3);
  assert.equal(a.didsInUse.has(3), false);
});
