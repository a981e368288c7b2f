import assert from "node:assert/strict";
import { VTD_VERBS } from "../../../dsl/areas/vtd_verbs.ts";
import { failuresOf, ONE_UNIT_HEAD, runVtd, vtdSpecErrors } from "./vtd_fixtures.ts";

Deno.test("VTD_VERBS are flush_range, flush_range_np and sva_notify", () => {
  assert.deepEqual(VTD_VERBS.map((v) => v.name), ["flush_range", "flush_range_np", "sva_notify"]);
});

Deno.test("flush_range: IH defaults to 0 and is sent when asked (CT-4)", () => {
  // One page at 0x5000: addr 0x5000, AM 0 (calculate_psi_aligned_address()).
  const r = runVtd(
    ONE_UNIT_HEAD + `steps:
  - attach: { device: dev0, domain: D }
  - flush_range: { domain: D, start: 0x5000, end: 0x5fff }
    expect: [IOTLB_INV gran=psi did=5 addr=0x5000 dr dw, DEV_TLB_INV sid=0x300 addr=0x5000, INV_WAIT]
  - flush_range: { domain: D, start: 0x5000, end: 0x5fff, ih: 1 }
    expect:
      - IOTLB_INV gran=psi did=5 addr=0x5000 ih dr dw
      - DEV_TLB_INV sid=0x300 addr=0x5000
      - INV_WAIT
`,
  );
  assert.deepEqual(failuresOf(r), []);
});

Deno.test("flush_range_np flushes only on a caching-mode unit", () => {
  const steps = `steps:
  - attach: { device: dev0, domain: D }
  - flush_range_np: { domain: D, start: 0x5000, end: 0x5fff }
`;
  const plain = runVtd(ONE_UNIT_HEAD + steps);
  assert.deepEqual(plain.steps[1].commands, []);
  const cm = runVtd(
    ONE_UNIT_HEAD.replace("{ kind: vtd }", "{ kind: vtd, caching_mode: true }") +
      steps,
  );
  // Only the IOTLB tag, with IH 0; no device TLB (cache_tag_flush_range_np()).
  assert.deepEqual(cm.steps[1].commands.map((c) => c.cmd.op), ["IOTLB_INV", "INV_WAIT"]);
  assert.equal(cm.steps[1].commands[0].cmd.ih, false);
});

Deno.test("sva_notify takes the mm's exclusive end", () => {
  // [0x1000, 0x2000) is the one page at 0x1000.
  const r = runVtd(
    ONE_UNIT_HEAD.replace("domains:\n", "domains:\n  mm: { type: sva, pasid: 0x10 }\n") +
      `steps:
  - attach: { device: dev0, domain: mm, pasid: 0x10 }
  - sva_notify: { domain: mm, start: 0x1000, end: 0x2000 }
    expect:
      - P_IOTLB_INV gran=psi did=1 pasid=0x10 addr=0x1000
      - P_DEV_TLB_INV sid=0x300 pasid=0x10 addr=0x1000
      - INV_WAIT
`,
  );
  assert.deepEqual(failuresOf(r), []);
});

Deno.test("flush_range refuses an IH other than 0 or 1", () => {
  const errs = vtdSpecErrors(
    ONE_UNIT_HEAD + "steps:\n  - flush_range: { domain: D, start: 0, end: 0xfff, ih: 2 }\n",
  );
  assert.deepEqual(errs, ["10: Invalid ih: 2 does not fit in 1 bits (max 1)"]);
});
