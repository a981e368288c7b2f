import assert from "node:assert/strict";
import { ARM_HEAD, SELFTEST_HEAD, specErrorsOf } from "./iommufd_fixtures.ts";

const STEPS = "steps: []\n";

// Each row: a spec whose declarations iommufd (or the ARM driver) would refuse, and the one
// spec error it must give, as `line: title`. Expected titles are this area's wording; the
// refusals follow iommufd_hwpt_alloc / iommufd_viommu_alloc_ioctl / arm_vsmmu_init /
// arm_vsmmu_vdevice_init (iommufd.md §7.1) and the object order of an ALLOC1 xarray.
const ROWS: readonly { readonly name: string; readonly text: string; readonly error: string }[] = [
  {
    name: "a field of another type",
    text: `invspec: 1\nname: t\niommufd:\n  ioas: { type: ioas, iotlb: 3 }\n${STEPS}`,
    error: '4: An object of type ioas has no "iotlb"',
  },
  {
    name: "a missing field",
    text: `invspec: 1\nname: t\niommufd:\n  ioas: { type: ioas }\n  n: { type: hwpt_nested }\n` +
      STEPS,
    error: '5: An object of type hwpt_nested needs "parent"',
  },
  {
    name: "an unknown reference (with did-you-mean)",
    text: `invspec: 1\nname: t\niommufd:\n  ioas: { type: ioas }\n` +
      `  p: { type: hwpt_paging, ioas: iosa }\n${STEPS}`,
    error: '5: No iommufd object named "iosa"',
  },
  {
    name: "a reference to a later object",
    text: `invspec: 1\nname: t\niommufd:\n  p: { type: hwpt_paging, ioas: ioas }\n` +
      `  ioas: { type: ioas }\n${STEPS}`,
    error: '4: "p" names "ioas", which is declared after it',
  },
  {
    name: "a reference of the wrong type",
    text: `invspec: 1\nname: t\niommufd:\n  d: { type: device }\n` +
      `  p: { type: hwpt_paging, ioas: d }\n${STEPS}`,
    error: '5: "d" is of type device, not ioas',
  },
  {
    name: "a nested HWPT on a paging HWPT that is not a nest parent",
    text: `invspec: 1\nname: t\niommufd:\n  ioas: { type: ioas }\n` +
      `  p: { type: hwpt_paging, ioas: ioas }\n  n: { type: hwpt_nested, parent: p }\n${STEPS}`,
    error: '6: "p" is not a nest parent',
  },
  {
    name: "a selftest vIOMMU with an SMMUv3 device",
    text: ARM_HEAD.replace("hwpt: parent, device: idev }", "hwpt: mockp, device: idev }")
      .replace(
        "  vsmmu:",
        "  mockp: { type: hwpt_paging, ioas: ioas, nest_parent: true }\n  vsmmu:",
      )
      .replace(/ {2}vdev:.*\n/, "") + STEPS,
    error: "14: A vIOMMU needs a device and a parent of one driver",
  },
  {
    name: "an ARM vIOMMU on an SMMU without nesting",
    text: ARM_HEAD.replace("ats, nesting]", "ats]") + STEPS,
    error: "13: Cannot create an ARM vIOMMU on smmu0: it lacks nesting",
  },
  {
    name: "an ARM vIOMMU where a matrix cell turns nesting off",
    text: ARM_HEAD + "matrix: { nesting: [true, false] }\n" + STEPS,
    error: "13: Cannot create an ARM vIOMMU on smmu0: it lacks nesting",
  },
  {
    name: "an ARM vIOMMU on an SMMU with the force-sync erratum",
    text: ARM_HEAD.replace("ssid_bits: 20", "ssid_bits: 20, options: [cmdq_force_sync]") + STEPS,
    error: "13: Cannot create an ARM vIOMMU on smmu0: cmdq_force_sync is set",
  },
  {
    name: "an ARM vDEVICE for a device with two stream IDs",
    text: ARM_HEAD.replace("sids: [0x1234]", "sids: [0x1234, 0x1235]") + STEPS,
    error: "14: An ARM vDEVICE needs a device with one SID",
  },
  {
    name: "an ARM nested HWPT on the S2 paging HWPT",
    text: ARM_HEAD + "  nested: { type: hwpt_nested, parent: parent }\n" + STEPS,
    error: "15: An ARM nested HWPT is allocated on a vIOMMU",
  },
  {
    name: "a mock IOTLB value on an ARM nested HWPT",
    text: ARM_HEAD + "  nested: { type: hwpt_nested, parent: vsmmu, iotlb: 1 }\n" + STEPS,
    error: "15: Only a selftest nested HWPT has a mock IOTLB",
  },
  {
    name: "a paging HWPT on a domain that is not a nest parent",
    text: ARM_HEAD.replace("s2: { nest_parent: true, vmid: 5, iommu: smmu0 }", "s2: {}")
      .replace(/ {2}vsmmu:.*\n {2}vdev:.*\n/, "") + STEPS,
    error: '12: "s2" is not a nest parent',
  },
  {
    name: "binding an unknown device",
    text: ARM_HEAD.replace("bind: gpu", "bind: gpx") + STEPS,
    error: '11: No device named "gpx"',
  },
  {
    name: "a virtual ID used twice in one vIOMMU",
    text: SELFTEST_HEAD +
      "  vdev2: { type: vdevice, viommu: viommu, device: dev, virt_id: 0x99 }\n" +
      STEPS,
    error: "10: Virtual ID 153 is already used",
  },
  {
    name: "a VT-d nested HWPT without its nested domain",
    text: `invspec: 1\nname: t\niommus:\n  dmar0: { kind: vtd }\ndomains:\n` +
      `  S2: { level: second, nest_parent: true }\n  N1: { type: nested, parent: S2 }\n` +
      `iommufd:\n  ioas: { type: ioas }\n  p: { type: hwpt_paging, ioas: ioas, domain: S2 }\n` +
      `  n: { type: hwpt_nested, parent: p }\n${STEPS}`,
    error: "11: A VT-d nested HWPT needs domain",
  },
];

Deno.test("iommufd declarations the kernel would refuse are spec errors", async (t) => {
  for (const row of ROWS) {
    await t.step(row.name, () => {
      assert.deepEqual(specErrorsOf(row.text), [row.error]);
    });
  }
});

Deno.test("iommufd declarations of the examples' shapes load without errors", () => {
  assert.deepEqual(specErrorsOf(SELFTEST_HEAD + STEPS), []);
  assert.deepEqual(specErrorsOf(ARM_HEAD + STEPS), []);
});
