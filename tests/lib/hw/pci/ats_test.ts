import assert from "node:assert/strict";
import {
  atcFill,
  atcLookup,
  type AtsCompletion,
  atsDma,
  atsEndpointCreate,
  atsInvalidate,
  atsInvFind,
} from "../../../../lib/hw/pci/ats.ts";

function completion(iova: bigint, out: bigint, prot = 3): AtsCompletion & { ok: true } {
  return { ok: true, iova, size: 0x1000n, out, prot, level: 3, root: 0x1000n, ctx: "c" };
}

// Entries: untagged 0x40000 and 0x41000, PASID 3 at 0x40000, PASID 5 at 0x40000.
function filled() {
  const ep = atsEndpointCreate("nic0", { sids: [0x10] });
  const fill = (pasid: number | null, iova: bigint) =>
    atcFill(ep, { pasid, sid: 0x10, completion: completion(iova, iova + 0x80000000n), stamp: 0 });
  fill(null, 0x40000n);
  fill(null, 0x41000n);
  fill(3, 0x40000n);
  fill(5, 0x40000n);
  return ep;
}

const left = (ep: ReturnType<typeof filled>) =>
  ep.atc.entries.map((e) => `${e.tag.pasid ?? "-"}@${e.iova.toString(16)}`);

// PCIe ATS Invalidate Requests as arm_smmu_atc_inv_to_cmd() uses them (smmuv3.md §4, §11.3).
const ROWS = [
  {
    name: "no PASID prefix (SSV 0): every entry in the range, PASID-tagged ones too",
    req: { pasid: null, start: 0x40000n, end: 0x41000n },
    left: ["-@41000"],
  },
  {
    name: "PASID 3 (SSV 1): only PASID 3's entries",
    req: { pasid: 3, start: 0x40000n, end: 0x42000n },
    left: ["-@40000", "-@41000", "5@40000"],
  },
  {
    name: "whole ATC without PASID (SIZE 52)",
    req: { pasid: null },
    left: [],
  },
  {
    name: "whole ATC of PASID 5",
    req: { pasid: 5 },
    left: ["-@40000", "-@41000", "3@40000"],
  },
  {
    name: "a range with nothing cached",
    req: { pasid: null, start: 0x100000n, end: 0x200000n },
    left: ["-@40000", "-@41000", "3@40000", "5@40000"],
  },
] as const;

Deno.test("atsInvalidate() applies the PASID rule of Invalidate Requests", async (t) => {
  for (const row of ROWS) {
    await t.step(row.name, () => {
      const ep = filled();
      const found = atsInvFind(ep, row.req).length;
      assert.equal(ep.atc.entries.length, 4, "atsInvFind() leaves the entries");
      assert.equal(atsInvalidate(ep, row.req).length, found);
      assert.deepEqual(left(ep), row.left);
    });
  }
});

Deno.test("atcLookup() matches the PASID tag exactly", () => {
  const ep = filled();
  assert.equal(atcLookup(ep, { pasid: null, iova: 0x41800n })?.iova, 0x41000n);
  assert.equal(atcLookup(ep, { pasid: 3, iova: 0x40000n })?.tag.pasid, 3);
  assert.equal(atcLookup(ep, { pasid: 3, iova: 0x41000n }), undefined);
  assert.equal(atcLookup(ep, { pasid: 7, iova: 0x40000n }), undefined);
});

Deno.test("atsDma() uses the ATC, asks on a miss and caches the completion", () => {
  const ep = atsEndpointCreate("nic0", { sids: [0x10, 0x11] });
  let asked = 0;
  const ask = () => {
    asked++;
    return { ...completion(0x40000n, 0x80040000n, 1), from: "walk" };
  };
  const req = { pasid: 2, iova: 0x40010n, write: false, stamp: 4 };
  assert.deepEqual(atsDma(ep, req, ask), { ok: true, pa: 0x80040010n, from: "walk" });
  assert.deepEqual(atsDma(ep, req, ask), { ok: true, pa: 0x80040010n, from: "atc" });
  assert.equal(asked, 1);
  assert.deepEqual(ep.atc.entries[0].tag, { key: "2", pasid: 2, sid: 0x10, ctx: "c" });
  assert.equal(ep.atc.entries[0].filled, 4);
  // A read-only entry does not serve a write: the function asks again and is refused.
  assert.deepEqual(atsDma(ep, { ...req, write: true }, ask), { ok: false, fault: "F_PERMISSION" });
  assert.equal(asked, 2);
  assert.deepEqual(
    atsDma(ep, { ...req, iova: 0x90000n }, () => ({ ok: false, fault: "C_BAD_CD", from: "" })),
    { ok: false, fault: "C_BAD_CD" },
  );
});
