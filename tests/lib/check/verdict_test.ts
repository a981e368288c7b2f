import assert from "node:assert/strict";
import { judge, leafVerdict, walkVerdict } from "../../../lib/check/verdict.ts";
import type { TlbEntry, TlbTag } from "../../../lib/hw/tlb.ts";
import { eventLogCreate } from "../../../lib/events.ts";
import { iommuMap, iommuUnmap } from "../../../lib/pgtable/iommu.ts";
import { ioPgtableAlloc } from "../../../lib/pgtable/pgtable.ts";
import { ioPgtableWalk } from "../../../lib/pgtable/walk.ts";

const TAG: TlbTag = { key: "t" };

function table() {
  const pt = ioPgtableAlloc(eventLogCreate(), { fmt: "vtdss", pgsizeBitmap: 0x40201000n });
  // 512 4K leaves in one level-3 table (the physical address is not 2M aligned).
  assert.equal(iommuMap(pt, { iova: 0x200000n, paddr: 0x40001000n, size: 0x200000n }).ret, 0);
  const tables = new Map([[0x1000n, pt]]);
  const path = ioPgtableWalk(pt, 0x201000n).path;
  const leaf: TlbEntry<TlbTag> = {
    tag: TAG,
    iova: 0x201000n,
    size: 0x1000n,
    level: 3,
    out: 0x40002000n,
    prot: 3,
    root: 0x1000n,
    filled: 0,
  };
  const desc: TlbEntry<TlbTag> = {
    ...leaf,
    iova: 0x200000n,
    size: 0x200000n,
    level: 2,
    out: path[3].pa,
    prot: 0,
  };
  return { pt, tables, leaf, desc };
}

Deno.test("leafVerdict() agrees with the walk, and says what the table holds instead", () => {
  const { pt, tables, leaf } = table();
  assert.equal(leafVerdict(leaf, tables), null);
  assert.deepEqual(leafVerdict({ ...leaf, out: 0x50000000n }, tables), {
    now: "the page table now maps 0x201000 (4K) → 0x40002000",
  });
  assert.equal(leafVerdict({ ...leaf, root: 0x2000n }, tables), null, "tables not held");
  iommuUnmap(pt, { iova: 0x201000n, size: 0x1000n });
  assert.deepEqual(leafVerdict(leaf, tables), { now: "the page table maps nothing there now" });
});

Deno.test("walkVerdict() accepts the live descriptor and names a freed table", () => {
  const { pt, tables, desc } = table();
  assert.equal(walkVerdict(desc, tables), null);
  iommuUnmap(pt, { iova: 0x200000n, size: 0x200000n });
  assert.deepEqual(walkVerdict(desc, tables), {
    now: `that entry is invalid now; table 0x${desc.out.toString(16)} was freed`,
  });
});

Deno.test("judge() marks an entry once, tolerates it, and clears the mark", () => {
  const e: { stale?: { since: number; reported: boolean } } = {};
  const stale = { now: "x" };
  assert.equal(judge(e, stale, { step: 3, tolerated: true }), false);
  assert.deepEqual(e.stale, { since: 3, reported: false });
  assert.equal(judge(e, stale, { step: 4, tolerated: false }), true, "first untolerated check");
  assert.deepEqual(e.stale, { since: 3, reported: true });
  assert.equal(judge(e, stale, { step: 5, tolerated: false }), false, "reported once");
  assert.equal(judge(e, null, { step: 6, tolerated: false }), false);
  assert.equal(e.stale, undefined);
});
