import assert from "node:assert/strict";
import {
  pasidCacheKey,
  vtdCachesCreate,
  vtdCachesEmpty,
  vtdTag,
} from "../../../../lib/hw/vtd/caches.ts";
import { tlbInsert } from "../../../../lib/hw/tlb.ts";

Deno.test("vtdTag() keys a tag by stage, domain id and PASID", () => {
  const t = vtdTag({ stage: "fs", did: 6, pasid: 0x10 });
  assert.deepEqual(t, { key: "fs/6/16", stage: "fs", did: 6, pasid: 16 });
  assert.notEqual(vtdTag({ stage: "ss", did: 6, pasid: 16 }).key, t.key);
  assert.notEqual(vtdTag({ stage: "fs", did: 6, pasid: 0 }).key, t.key);
  assert.equal(pasidCacheKey(0x300, 7), "768:7");
});

Deno.test("vtdCachesEmpty() sees an entry in any of the four caches", () => {
  type Caches = ReturnType<typeof vtdCachesCreate>;
  const entry = (size: bigint, level: number) => ({
    tag: vtdTag({ stage: "ss", did: 5, pasid: 0 }),
    iova: 0n,
    size,
    level,
    out: 0x1000n,
    prot: level === 3 ? 3 : 0,
    root: 0n,
    filled: 0,
  });
  const fills = [
    (c: Caches) => c.context.set(0x300, { sid: 0x300, did: 5, root: 0n, filled: 0 }),
    (c: Caches) =>
      c.pasid.set("768:0", { sid: 0x300, pasid: 0, did: 5, stage: "ss", root: 0n, filled: 0 }),
    (c: Caches) => tlbInsert(c.iotlb, entry(0x1000n, 3)),
    (c: Caches) => tlbInsert(c.psc, entry(0x200000n, 2)),
  ];
  assert.equal(vtdCachesEmpty(vtdCachesCreate()), true);
  for (const fill of fills) {
    const c = vtdCachesCreate();
    fill(c);
    assert.equal(vtdCachesEmpty(c), false);
    // Plain data: a World holding it clones.
    assert.deepEqual(structuredClone(c), c);
  }
});
