import assert from "node:assert/strict";
import { entriesLayout, EntryDecl, entryOf } from "../../../dsl/areas/iommufd_entries.ts";

const parse = (raw: unknown) => EntryDecl.parse(raw);

Deno.test("entriesLayout() picks the struct whose fields the entries use", async (t) => {
  // Rows: entries, the target's own layout, the expected layout (or the layouts that fit).
  const rows: readonly [string, unknown[], string | undefined, string | string[]][] = [
    ["iotlb_id", [{ iotlb_id: 1 }], undefined, "selftest"],
    ["vdev_id", [{ vdev_id: 0x99, cache_id: 1 }], undefined, "selftest_viommu"],
    ["addr", [{ addr: 0x1000, npages: 1 }], undefined, "vtd_s1"],
    ["command text", ["TLBI_NH_ALL"], undefined, "arm_smmuv3"],
    ["raw words", [{ w0: 0x10 }], undefined, "arm_smmuv3"],
    ["flags only, target decides", [{ flags: 1 }], "selftest_viommu", "selftest_viommu"],
    ["empty entries, target decides", [{}], "vtd_s1", "vtd_s1"],
    ["fields win over the target", [{ iotlb_id: 0 }], "arm_smmuv3", "selftest"],
    ["flags only, no target", [{ flags: 1 }], undefined, ["selftest", "selftest_viommu", "vtd_s1"]],
    ["mixed structs", [{ iotlb_id: 0 }, { vdev_id: 1 }], "selftest", []],
  ];
  for (const [name, entries, target, want] of rows) {
    await t.step(name, () => {
      const got = entriesLayout(entries.map(parse), target as never);
      assert.deepEqual(got, want);
    });
  }
});

Deno.test("entryOf() maps spec fields to the model's entry, unwritten fields left 0", () => {
  assert.deepEqual(entryOf(parse({ iotlb_id: 2 }), "selftest"), {
    kind: "selftest",
    flags: undefined,
    iotlbId: 2,
  });
  assert.deepEqual(entryOf(parse({ w1: 1 }), "arm_smmuv3"), { kind: "arm_smmuv3", cmd: [0n, 1n] });
  assert.deepEqual(entryOf(parse("TLBI_NH_ASID asid=3"), "arm_smmuv3"), {
    kind: "arm_smmuv3",
    cmd: { op: "TLBI_NH_ASID", asid: 3, vmid: 0 },
  });
  assert.deepEqual(entryOf(parse({ addr: "0x2000", npages: 4, flags: 1 }), "vtd_s1"), {
    kind: "vtd_s1",
    addr: 0x2000n,
    npages: 4n,
    flags: 1,
    reserved: undefined,
  });
});

Deno.test("EntryDecl reports a bad command line at its token", () => {
  const r = EntryDecl.safeParse("TLBI_NH_ASID asdi=1");
  assert.equal(r.success, false);
  const [issue] = r.error!.issues;
  assert.match(issue.message, /unknown field "asdi"/);
  assert.deepEqual((issue as { params?: unknown }).params, { offset: 13, length: 4 });
});
