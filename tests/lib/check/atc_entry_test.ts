import assert from "node:assert/strict";
import { atcEntryFinding, atcEntryVerdict } from "../../../lib/check/atc_entry.ts";
import { findingLine } from "../../../lib/check/finding.ts";
import { atcFill, atsEndpointCreate } from "../../../lib/hw/pci/ats.ts";

function entry(pasid: number | null) {
  const ep = atsEndpointCreate("nic0", { sids: [0x300] });
  const leaf = { iova: 0x40000n, size: 0x2000n, level: 3, out: 0x80040000n, prot: 3, root: 0n };
  const e = atcFill(ep, {
    pasid,
    sid: 0x300,
    completion: { ok: true, ...leaf, ctx: "c" },
    stamp: 2,
    note: "how it got there",
  });
  return { ep, e, leaf };
}

Deno.test("atcEntryVerdict() compares an entry with a Translation Request's answer", () => {
  const { e, leaf } = entry(null);
  assert.equal(atcEntryVerdict(e, { ok: true, leaf }), null);
  assert.deepEqual(atcEntryVerdict(e, { ok: true, leaf: { ...leaf, out: 0x90040000n } }), {
    now: "a Translation Request now returns 0x40000 (8K) → 0x90040000",
  });
  assert.deepEqual(atcEntryVerdict(e, { ok: false, fault: "F_TRANSLATION" }), {
    now: "a Translation Request for it fails now (F_TRANSLATION)",
  });
});

Deno.test("atcEntryFinding() names the cache, the PASID and the fix", () => {
  const a = entry(null);
  const f = atcEntryFinding(a.ep, a.e, { kind: "ATC", cache: "ATC", fix: "X", now: "gone" });
  assert.equal(findingLine(f, { short: true }), "ATC nic0 sid=0x300 iova=0x40000");
  assert.equal(f.what, "ATC of nic0 (sid 0x300, no PASID) still maps 0x40000 (8K) → 0x80040000");
  assert.equal(f.fix, "X would remove it");
  assert.deepEqual(f.notes, ["gone", "how it got there"]);
  const b = entry(16);
  const o = { kind: "DEVTLB", cache: "device TLB", hexPasid: true, fix: "Y", now: "gone" } as const;
  const g = atcEntryFinding(b.ep, b.e, o);
  assert.equal(findingLine(g, { short: true }), "DEVTLB nic0 sid=0x300 pasid=16 iova=0x40000");
  assert.equal(
    g.what,
    "device TLB of nic0 (sid 0x300, PASID 0x10) still maps 0x40000 (8K) → 0x80040000",
  );
});
