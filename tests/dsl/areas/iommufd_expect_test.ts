import assert from "node:assert/strict";
import { opCallText, rawCmdText, slotText } from "../../../dsl/areas/iommufd_expect.ts";
import { ARM_HEAD, runText, SELFTEST_HEAD, specErrorsOf } from "./iommufd_fixtures.ts";

// The failures of a one-scenario spec, as their titles.
function failuresOf(text: string): string[] {
  const [r] = runText(text);
  return r.steps.flatMap((s) => s.failures.map((f) => f.title));
}

const H12 = "hwpt_invalidate: { hwpt: nested, entries: [{ iotlb_id: 1 }] }";

Deno.test("iotlb: D and default are 0xbadbeef, 0 is invalidated, one value is all four", () => {
  // H12 of iommufd.md §5.2 on a fresh HWPT: slot 1 cleared.
  for (const want of ["[D, 0, D, D]", "[default, 0, 0xbadbeef, 195935983]"]) {
    const text = `${SELFTEST_HEAD}steps:\n  - ${H12}\n    expect: { iotlb: { nested: ${want} } }\n`;
    assert.deepEqual(failuresOf(text), []);
  }
  const text = `${SELFTEST_HEAD}steps:\n  - ${H12}\n    expect: { iotlb: { nested: D } }\n`;
  assert.deepEqual(failuresOf(text), [
    "Step 1 hwpt_invalidate: iotlb of nested is [D, 0, D, D], expected [D, D, D, D]",
  ]);
});

Deno.test("dev_cache: a mismatch names the device and both states", () => {
  const step = "viommu_invalidate: { viommu: viommu, entries: [{ vdev_id: 0x99, cache_id: 3 }] }";
  const text =
    `${SELFTEST_HEAD}steps:\n  - ${step}\n    expect: { dev_cache: { dev: [0, D, D, D] } }\n`;
  assert.deepEqual(failuresOf(text), [
    "Step 1 viommu_invalidate: dev_cache of dev is [D, D, D, 0], expected [0, D, D, D]",
  ]);
});

Deno.test("op_calls: a count or one line per call", () => {
  const step = "hwpt_invalidate: { hwpt: nested, entries: [{ iotlb_id: 0 }, { iotlb_id: 9 }] }";
  const ok = `${SELFTEST_HEAD}steps:\n  - ${step}\n    expect: { returns: EINVAL, entry_num: 1, ` +
    "op_calls: [given=2 handled=1, given=1 handled=0 rc=EINVAL] }\n";
  assert.deepEqual(failuresOf(ok), []);
  const bad = `${SELFTEST_HEAD}steps:\n  - ${step}\n    expect: { returns: EINVAL, op_calls: 1 }\n`;
  assert.deepEqual(failuresOf(bad), [
    "Step 1 hwpt_invalidate: the driver op ran 2 times, expected 1",
  ]);
});

Deno.test("raw_cmds: the exact words of a command queued with stray bits", () => {
  // iommufd.md §7.6 E4 before the series: NH_ALL with w1 = 1 is forwarded, VMID 5 forced in.
  const step = "viommu_invalidate: { viommu: vsmmu, entries: [{ w0: 0x10, w1: 1 }] }";
  const text = `${ARM_HEAD}variant: { iommufd: driver-loop }\nsteps:\n  - ${step}\n` +
    "    expect: { raw_cmds: [TLBI_NH_ALL w0=0x500000010 w1=0x1] }\n";
  assert.deepEqual(failuresOf(text), []);
  const none = text.replace("[TLBI_NH_ALL w0=0x500000010 w1=0x1]", "[]");
  assert.deepEqual(failuresOf(none), [
    "Step 1 viommu_invalidate: other raw commands reached the queue (expected 0, got 1)",
  ]);
});

Deno.test("iommufd expectation keys report malformed values when the spec loads", async (t) => {
  const rows: readonly [string, string][] = [
    ["iotlb: { nested: [1, 2] }", "12: Cannot read iotlb.nested: expected 4 slots"],
    ["iotlb: { nested: [D, D, D, X] }", "12: Cannot read iotlb.nested: expected 4 slots"],
    ["iotlb: [0]", "12: Cannot read iotlb: expected { <name>: [slot 0, 1, 2, 3] }"],
    ["iotlb: { dev: D }", '12: No selftest nested HWPT named "dev"'],
    ["dev_cache: { nested: D }", '12: No selftest mock device named "nested"'],
    ["op_calls: [given=1]", "12: Cannot read op call: a call needs given= and handled="],
    [
      "op_calls: [given=1 handled=1 rc=EWHAT]",
      '12: Cannot read op call: rc: "EWHAT" is not 0 or an errno name',
    ],
    ["op_calls: -1", "12: Cannot read op_calls: expected a count or a list of call lines"],
    [
      "raw_cmds: [TLBI_NH_ALL w0=1]",
      "12: Cannot read raw command: a raw command is OP w0=.. w1=..",
    ],
  ];
  for (const [expect, error] of rows) {
    await t.step(expect, () => {
      const text = `${SELFTEST_HEAD}steps:\n  - ${H12}\n    expect: { ${expect} }\n`;
      assert.deepEqual(specErrorsOf(text), [error]);
    });
  }
});

Deno.test("slotText(), opCallText() and rawCmdText() write what the parsers read", () => {
  assert.equal(slotText(0xbadbeef, 0xbadbeef), "D");
  assert.equal(slotText(0, 0xbadbeef), "0");
  assert.equal(slotText(0x10, 0xbadbeef), "0x10");
  assert.equal(opCallText({ given: 3, handled: 1, rc: "EIO" }), "given=3 handled=1 rc=EIO");
  assert.equal(opCallText({ given: 0, handled: 0, rc: 0 }), "given=0 handled=0");
  assert.equal(
    rawCmdText({ op: "CFGI_CD", w0: 0x123400003805n, w1: 1n }),
    "CFGI_CD w0=0x123400003805 w1=0x1",
  );
});
