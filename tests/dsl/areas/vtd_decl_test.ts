import assert from "node:assert/strict";
import { VTD_CAPS } from "../../../lib/hw/vtd/iommu.ts";
import { VtdDecl } from "../../../dsl/areas/vtd_decl.ts";

Deno.test("VtdDecl has one flag per capability bit the model reads", () => {
  const keys = Object.keys(VtdDecl.shape);
  for (const cap of VTD_CAPS) assert.ok(keys.includes(cap), `no flag for ${cap}`);
});

Deno.test("VtdDecl accepts a bare unit and refuses unknown keys and wide MAMV", () => {
  assert.deepEqual(VtdDecl.parse({ kind: "vtd" }), { kind: "vtd" });
  assert.deepEqual(VtdDecl.parse({ kind: "vtd", mamv: "0x12", caching_mode: true }), {
    kind: "vtd",
    mamv: 18,
    caching_mode: true,
  });
  assert.equal(VtdDecl.safeParse({ kind: "vtd", cachingmode: true }).success, false);
  // CAP.MAMV is a 6-bit field (bits 53:48).
  assert.equal(VtdDecl.safeParse({ kind: "vtd", mamv: 64 }).success, false);
});
