import assert from "node:assert/strict";
import { diffLines, type ExpectedLine, splitLine } from "../../../dsl/areas/vtd_line_list.ts";

const want = (texts: string[]): ExpectedLine[] =>
  texts.map((text, i) => ({ text, line: 10 + i, path: ["x", i] }));

const opts = {
  same: (e: number, a: string) => ["a", "b", "c"][e] === a,
  show: (a: string) => a,
  title: "differ",
  path: ["x"],
};

Deno.test("diffLines() agrees when both lists hold the same items in order", () => {
  assert.equal(diffLines(want(["a", "b"]), ["a", "b"], opts), undefined);
});

Deno.test("diffLines() points at the first expected item missing, with a diff", () => {
  const m = diffLines(want(["a", "b", "c"]), ["a", "c", "d"], opts);
  assert.deepEqual(m, {
    path: ["x", 1],
    title: "differ",
    detail: ["diff (- expected, + actual):", "        a", "  L11 - b", "        c", "      + d"],
  });
});

Deno.test("diffLines() points at the key when an empty expectation meets items", () => {
  assert.deepEqual(diffLines([], ["a"], opts)?.path, ["x"]);
});

Deno.test("splitLine() splits a head and field=value pairs", () => {
  assert.deepEqual(splitLine("  IOTLB iommu=dmar0 did=5 "), {
    head: "IOTLB",
    fields: [["iommu", "dmar0"], ["did", "5"]],
  });
  assert.equal(splitLine("IOTLB did="), 'expected field=value, got "did="');
  assert.equal(splitLine("IOTLB =5"), 'expected field=value, got "=5"');
});
