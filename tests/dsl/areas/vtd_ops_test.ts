import assert from "node:assert/strict";
import { VTD_KIND_OPS } from "../../../dsl/areas/vtd_ops.ts";
import { buildWorld } from "../../../dsl/build.ts";
import { loadSuite } from "../../../dsl/suite.ts";
import type { World } from "../../../dsl/world.ts";
import { iotlbGatherInit, iotlbGatherSnapshot } from "../../../lib/pgtable/gather.ts";
import { failuresOf, ONE_UNIT_HEAD, runVtd } from "./vtd_fixtures.ts";

function attached(): World {
  const r = loadSuite([{ file: "t.inv.yaml", text: ONE_UNIT_HEAD + "steps: []\n" }]);
  const w = buildWorld(r.scenarios[0].spec, r.scenarios[0].cell);
  assert.deepEqual(VTD_KIND_OPS.attach(w, { device: "dev0", domain: "D" }), {});
  w.log.events.length = 0;
  return w;
}

function cmdsOf(w: World): string[] {
  return w.log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd.op] : []);
}

Deno.test("VTD_KIND_OPS.attach() returns what the driver returns", () => {
  const r = runVtd(
    ONE_UNIT_HEAD.replace(
      "domains:\n",
      "  plain: { iommu: dmar0, sid: 0x0400 }\ndomains:\n  mm: { type: sva, pasid: 0x10 }\n",
    ) + `steps:
  - attach: { device: dev0, domain: mm }
  - attach: { device: dev0, domain: mm, pasid: 0x11 }
  - attach: { device: plain, domain: D, pasid: 3 }
  - attach: { device: dev0, domain: D, pasid: 3 }
  - attach: { device: dev0, domain: D, pasid: 3 }
  - attach: { device: dev0, domain: D }
  - attach: { device: dev0, domain: D }
`,
  );
  // intel_svm_set_dev_pasid() needs the process PASID; a RID cannot take an SVA domain;
  // PASIDs need PASID support; a PASID in use is busy; attaching the current domain is a
  // no-op in the core.
  assert.deepEqual(r.steps.map((s) => s.outcome.returns ?? 0), [
    "EINVAL",
    "EINVAL",
    "EOPNOTSUPP",
    0,
    "EBUSY",
    0,
    0,
  ]);
});

Deno.test("VTD_KIND_OPS.attach() to blocked tears the RID entry down", () => {
  // intel_pasid_tear_down_entry() of a second-stage entry: PASID cache, DSI, device TLB.
  const r = runVtd(
    ONE_UNIT_HEAD + `steps:
  - attach: { device: dev0, domain: D }
  - attach: { device: dev0, domain: blocked }
    expect:
      commands:
        - PC_INV gran=pasid did=5
        - INV_WAIT
        - IOTLB_INV gran=dsi did=5 dr dw
        - INV_WAIT
        - DEV_TLB_INV sid=0x300 mask=52
        - INV_WAIT
      cache_tags: { D: [] }
  - name: nothing left to tear down
    detach: { device: dev0 }
    expect: []
`,
  );
  assert.deepEqual(failuresOf(r), []);
});

Deno.test("VTD_KIND_OPS.request() flushes an unmap with IH only when no table was freed", () => {
  const w = attached();
  const d = w.domains.D;
  const gather = { ...iotlbGatherInit(), start: 0x3000n, end: 0x4fffn };
  VTD_KIND_OPS.request(w, d, { op: "iotlb_sync", gather: iotlbGatherSnapshot(gather) });
  const freed = iotlbGatherSnapshot({ ...gather, freelist: [7] });
  VTD_KIND_OPS.request(w, d, { op: "iotlb_sync", gather: freed });
  const ih = w.log.events.flatMap((e) =>
    e.kind === "cmd" && e.cmd.op === "IOTLB_INV" ? [e.cmd.ih] : []
  );
  assert.deepEqual(ih, [true, false]);
});

Deno.test("VTD_KIND_OPS.request() maps flush_all and ignores flush_walk", () => {
  const w = attached();
  const d = w.domains.D;
  VTD_KIND_OPS.request(w, d, { op: "flush_walk", iova: 0n, size: 0x1000n, granule: 0x1000n });
  assert.deepEqual(cmdsOf(w), []);
  VTD_KIND_OPS.request(w, d, { op: "flush_all" });
  assert.deepEqual(cmdsOf(w), ["IOTLB_INV", "DEV_TLB_INV", "INV_WAIT"]);
  // No caching mode: the sync after a map has nothing to flush (v6.17 on, not even called).
  w.log.events.length = 0;
  VTD_KIND_OPS.request(w, d, { op: "iotlb_sync_map", iova: 0n, size: 0x1000n });
  assert.deepEqual(w.log.events, []);
});
