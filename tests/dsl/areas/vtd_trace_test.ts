import assert from "node:assert/strict";
import { formatTrace, TRACE_EXPECT, VTD_TRACE_FIELDS } from "../../../dsl/areas/vtd_trace.ts";
import type { Event } from "../../../lib/events.ts";
import type { World } from "../../../dsl/world.ts";
import { failuresOf, ONE_UNIT_HEAD, runVtd, vtdSpecErrors } from "./vtd_fixtures.ts";

const FLUSH: Extract<Event, { kind: "trace" }> = {
  kind: "trace",
  name: "cache_tag_flush_range",
  data: { iommu: "dmar0", dev: "dmar0", type: "iotlb", domain_id: 5, start: 0x3000n, mask: 3 },
};

Deno.test("formatTrace() prints fields in order, bigints in hex", () => {
  assert.equal(
    formatTrace(FLUSH),
    "cache_tag_flush_range iommu=dmar0 dev=dmar0 type=iotlb domain_id=5 start=0x3000 mask=3",
  );
});

Deno.test("VTD_TRACE_FIELDS lists the fields the cache-tag events carry (trace.h)", () => {
  assert.deepEqual(VTD_TRACE_FIELDS.cache_tag_assign, [
    "iommu",
    "dev",
    "type",
    "domain_id",
    "pasid",
    "users",
  ]);
  assert.ok(VTD_TRACE_FIELDS.cache_tag_flush_range.includes("pages"));
});

const STEP = "steps:\n  - attach: { device: dev0, domain: D }\n    expect:\n      trace:\n";
const LINE = ONE_UNIT_HEAD.split("\n").length + 4;

const BAD: readonly { readonly line: string; readonly error: string }[] = [
  {
    line: "- cache_tag_asign dev=dev0",
    error: 'Cannot read trace event: unknown trace event "cache_tag_asign"',
  },
  {
    line: "- cache_tag_assign did=5",
    error: 'Cannot read trace event: cache_tag_assign has no field "did"',
  },
  { line: "- cache_tag_assign users=many", error: "Cannot read trace event: users: " },
];

Deno.test("trace refuses unknown events and fields at load time", async (t) => {
  for (const b of BAD) {
    await t.step(b.line, () => {
      const errs = vtdSpecErrors(`${ONE_UNIT_HEAD}${STEP}        ${b.line}\n`);
      assert.equal(errs.length, 1);
      assert.ok(errs[0].startsWith(`${LINE}: ${b.error}`), errs[0]);
    });
  }
  assert.deepEqual(
    vtdSpecErrors(`${ONE_UNIT_HEAD}${STEP}        cache_tag_assign\n`),
    [`${LINE}: Cannot read trace: expected a list of trace event lines`],
  );
});

Deno.test("trace compares every cache_tag_* event, other events only when named", () => {
  // Attaching dev0 assigns its IOTLB and DEVTLB tags (cache_tag_assign_domain()); the
  // flush then traces both tags and one qi_submit per descriptor.
  const r = runVtd(`${ONE_UNIT_HEAD}steps:
  - attach: { device: dev0, domain: D }
    expect:
      trace:
        - cache_tag_assign type=iotlb domain_id=0x5 pasid=0 users=1
        - cache_tag_assign type=devtlb dev=dev0 domain_id=5
  - flush_range: { domain: D, start: 0, end: 0xfff }
    expect:
      trace:
        - cache_tag_flush_range type=iotlb
        - cache_tag_flush_range type=devtlb
  - flush_range: { domain: D, start: 0, end: 0xfff }
    expect:
      trace:
        - cache_tag_flush_range type=iotlb
        - cache_tag_flush_range type=devtlb
        - qi_submit type=iotlb_inv
        - qi_submit type=dev_tlb_inv
  - name: a missing cache_tag event fails
    flush_range: { domain: D, start: 0, end: 0xfff }
    expect: { trace: [] }
`);
  assert.deepEqual(failuresOf(r), [
    "Step 4 flush_range (a missing cache_tag event fails): the trace events differ (2 compared)",
  ]);
});

Deno.test("TRACE_EXPECT.check() reads the step's events, not the World", () => {
  const parsed = TRACE_EXPECT.parse(["cache_tag_flush_range mask=3"], ["x"], {
    iommus: {},
    names: {},
    locator: {
      file: "t",
      text: "",
      at: () => ({ file: "t", start: { line: 1, col: 1 }, end: { line: 1, col: 2 } }),
      keyAt: () => ({ file: "t", start: { line: 1, col: 1 }, end: { line: 1, col: 2 } }),
      valueOffset: () => 0,
    },
    diags: [],
    ext: {},
  });
  const world = {} as World;
  assert.deepEqual(TRACE_EXPECT.check(world, parsed, {}, [FLUSH]), []);
  assert.equal(TRACE_EXPECT.check(world, parsed, {}, []).length, 1);
});
