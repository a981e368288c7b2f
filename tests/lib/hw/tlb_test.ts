import assert from "node:assert/strict";
import {
  tlbCreate,
  type TlbEntry,
  tlbFind,
  tlbInsert,
  tlbInvalidate,
  tlbLookup,
  tlbOverlaps,
} from "../../../lib/hw/tlb.ts";

type Tag = { readonly key: string; readonly asid: number };

function entry(asid: number, iova: bigint, size: bigint, level: number, out = iova): TlbEntry<Tag> {
  return { tag: { key: `a${asid}`, asid }, iova, size, level, out, prot: 3, root: 0n, filled: 0 };
}

const is = (asid: number) => (t: Tag) => t.asid === asid;

Deno.test("tlbInsert() replaces the entry of the same context, level and range", () => {
  const tlb = tlbCreate<Tag>();
  tlbInsert(tlb, entry(1, 0x40000n, 0x1000n, 3, 0x1000n));
  tlbInsert(tlb, entry(2, 0x40000n, 0x1000n, 3));
  tlbInsert(tlb, entry(1, 0x40000n, 0x1000n, 3, 0x2000n));
  tlbInsert(tlb, entry(1, 0x0n, 0x200000n, 2));
  assert.deepEqual(tlb.entries.map((e) => [e.tag.asid, e.level, e.out]), [
    [2, 3, 0x40000n],
    [1, 3, 0x2000n],
    [1, 2, 0n],
  ]);
});

Deno.test("tlbLookup() finds the deepest entry of the context containing the address", () => {
  const tlb = tlbCreate<Tag>();
  tlbInsert(tlb, entry(1, 0x0n, 0x40000000n, 1));
  tlbInsert(tlb, entry(1, 0x0n, 0x200000n, 2));
  tlbInsert(tlb, entry(2, 0x40000n, 0x1000n, 3));
  assert.equal(tlbLookup(tlb, { match: is(1), iova: 0x40000n })?.level, 2);
  assert.equal(tlbLookup(tlb, { match: is(1), iova: 0x200000n })?.level, 1);
  assert.equal(tlbLookup(tlb, { match: is(2), iova: 0x41000n }), undefined);
  assert.equal(tlbLookup(tlb, { match: is(3), iova: 0x40000n }), undefined);
});

Deno.test("tlbOverlaps() is true exactly when the entry and the range share an address", () => {
  const e = entry(1, 0x40000n, 0x2000n, 3);
  assert.equal(tlbOverlaps(e, 0x41fffn, 0x42000n), true);
  assert.equal(tlbOverlaps(e, 0x42000n, 0x43000n), false);
  assert.equal(tlbOverlaps(e, 0x3f000n, 0x40000n), false);
  assert.equal(tlbOverlaps(e, 0x0n, 0x100000n), true);
});

Deno.test("tlbInvalidate() removes what overlaps, by tag and level; tlbFind() only looks", () => {
  const tlb = tlbCreate<Tag>();
  tlbInsert(tlb, entry(1, 0x40000n, 0x1000n, 3));
  tlbInsert(tlb, entry(1, 0x200000n, 0x200000n, 2));
  tlbInsert(tlb, entry(2, 0x40000n, 0x1000n, 3));
  const sel = { match: is(1), start: 0x41000n, end: 0x300000n };
  assert.equal(tlbFind(tlb, sel).length, 1);
  assert.equal(tlb.entries.length, 3);
  assert.deepEqual(tlbInvalidate(tlb, { ...sel, level: 3 }), []);
  assert.deepEqual(tlbInvalidate(tlb, sel).map((e) => e.iova), [0x200000n]);
  assert.deepEqual(tlbInvalidate(tlb, { match: is(1) }).map((e) => e.iova), [0x40000n]);
  assert.deepEqual(tlb.entries.map((e) => e.tag.asid), [2]);
});

Deno.test("a cache survives structuredClone (plain data)", () => {
  const tlb = tlbCreate<Tag>();
  tlbInsert(tlb, entry(1, 0x40000n, 0x1000n, 3));
  const copy = structuredClone(tlb);
  tlbInvalidate(copy, { match: is(1) });
  assert.equal(tlb.entries.length, 1);
  assert.equal(copy.entries.length, 0);
});
