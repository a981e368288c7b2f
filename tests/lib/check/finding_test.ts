import assert from "node:assert/strict";
import {
  type Finding,
  findingFieldText,
  findingLine,
  findingMatches,
  findingParse,
  type FindingPattern,
} from "../../../lib/check/finding.ts";

const ATC: Finding = {
  kind: "ATC",
  owner: "nic0",
  fields: { sid: 0x10n, pasid: 3n, iova: 0x41000n, pa: 0x80041000n, size: 0x1000n },
  key: ["sid", "pasid", "iova"],
  what: "ATC of nic0 (sid 0x10, PASID 3) still maps 0x41000 → 0x80041000",
  fix: "ATC_INV sid=0x10 ssv ssid=3 addr=0x41000 would remove it",
  since: 3,
  notes: [],
};

Deno.test("findingLine() writes every field, or the key fields with short", () => {
  assert.equal(findingLine(ATC), "ATC nic0 sid=0x10 pasid=3 iova=0x41000 pa=0x80041000 size=4K");
  assert.equal(findingLine(ATC, { short: true }), "ATC nic0 sid=0x10 pasid=3 iova=0x41000");
});

Deno.test("findingFieldText() shows addresses in hex and sizes as K/M/G", () => {
  assert.equal(findingFieldText("table", 0x8000n), "0x8000");
  assert.equal(findingFieldText("size", 0x200000n), "2M");
  assert.equal(findingFieldText("asid", 12n), "12");
  assert.equal(findingFieldText("op", "TLBI_NH_VA"), "TLBI_NH_VA");
});

Deno.test("findingParse() reads what findingLine() writes; findingMatches() takes subsets", () => {
  const full = findingParse(findingLine(ATC)) as FindingPattern;
  assert.equal(findingMatches(full, ATC), true);
  const rows: [string, boolean][] = [
    ["ATC nic0", true],
    ["ATC nic0 pasid=3 iova=266240", true],
    ["ATC nic0 size=4K", true],
    ["ATC nic0 pasid=2", false],
    ["ATC nic1 pasid=3", false],
    ["IOTLB nic0", false],
    ["ATC nic0 asid=1", false],
  ];
  for (const [text, want] of rows) {
    assert.equal(findingMatches(findingParse(text) as FindingPattern, ATC), want, text);
  }
  const named = findingParse("UNSYNCED smmu0 op=TLBI_NH_VA") as FindingPattern;
  const unsynced = {
    ...ATC,
    kind: "UNSYNCED" as const,
    owner: "smmu0",
    fields: { op: "TLBI_NH_VA", n: 2n },
  };
  assert.equal(findingMatches(named, unsynced), true);
});

Deno.test("findingParse() explains what it cannot read", () => {
  assert.equal(
    findingParse("IOTBL smmu0"),
    'unknown kind "IOTBL"; did you mean "IOTLB"?; kinds are IOTLB, WALK, STE, CD, ATC, PSC, PASID, CONTEXT, DEVTLB, UNSYNCED, ORDER',
  );
  assert.equal(findingParse("ATC"), "ATC needs the IOMMU or device it is about");
  assert.equal(findingParse("ATC pasid=3"), "ATC needs the IOMMU or device it is about");
  assert.equal(findingParse("ATC nic0 pasid"), 'expected field=value, got "pasid"');
  assert.equal(
    findingParse("DEVTLB nic0 pasid=12Q"),
    'field "pasid": "12Q": expected a number (decimal, 0x hex, or a size such as 4K)',
  );
  // Names and `none` stay names.
  assert.equal(typeof findingParse("IOTLB dmar0 stage=fs pasid=none"), "object");
});
