import assert from "node:assert/strict";
import fc from "fast-check";
import { ERRNOS } from "../../../lib/errno.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";
import { ARM_HEAD, outcomesOf, runText, SELFTEST_HEAD, specErrorsOf } from "./iommufd_fixtures.ts";

function steps(...lines: string[]): string {
  return `steps:\n${lines.map((l) => `  - ${l}\n`).join("")}`;
}

// One request per row and the ioctl's result, from iommufd.md §1.1 (envelope), §2.2 (core
// checks), §3 (copy helpers), §4 (selftest ops) and §7.4-7.5 (ARM op); the same in both
// variants unless a row says otherwise.
const ROWS: readonly {
  readonly name: string;
  readonly head: string;
  readonly step: string;
  readonly returns: 0 | string;
  readonly entryNum: number;
}[] = [
  {
    name: "selftest HWPT entry_len below offsetofend(iotlb_id) (§3.3)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, entry_len: 7, entries: [{ iotlb_id: 0 }] }",
    returns: "EINVAL",
    entryNum: 0,
  },
  {
    name: "selftest vIOMMU entry_len 16 with a zero tail is accepted (§3.4)",
    head: SELFTEST_HEAD,
    step: 'viommu_invalidate: { viommu: viommu, entry_len: 16, entry_num: 1, data: "00000000 ' +
      '99000000 00000000 00000000" }',
    returns: 0,
    entryNum: 1,
  },
  {
    name: "selftest vIOMMU entry_len 16 with a non-zero tail (§3.4)",
    head: SELFTEST_HEAD,
    step: 'viommu_invalidate: { viommu: viommu, entry_len: 16, entry_num: 1, data: "00000000 ' +
      '99000000 00000000 01000000" }',
    returns: "E2BIG",
    entryNum: 0,
  },
  {
    name: "an ARM entry of 8 bytes is zero-extended (§3.4)",
    head: ARM_HEAD,
    step: 'viommu_invalidate: { viommu: vsmmu, entry_len: 8, entry_num: 1, data: "10 00 00 00 ' +
      '00 00 00 00" }',
    returns: 0,
    entryNum: 1,
  },
  {
    name: "the array ends 4 bytes in (EFAULT)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, fault: { data_at: 4 }, entries: [{ iotlb_id: 0 }] }",
    returns: "EFAULT",
    entryNum: 0,
  },
  {
    name: "data_uptr at an unmapped address (EFAULT)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, uptr: 0x7000000, entries: [{ iotlb_id: 0 }] }",
    returns: "EFAULT",
    entryNum: 0,
  },
  {
    name: "size unreadable: the struct is not mapped (EFAULT, entry_num untouched)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, fault: { cmd_at: 0 }, entries: [{ iotlb_id: 0 }] }",
    returns: "EFAULT",
    entryNum: 1,
  },
  {
    name: "the struct read-only: the handler ran, the copy back faults (§1.1)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, fault: { cmd_readonly: true }, entries: [{}] }",
    returns: "EFAULT",
    entryNum: 1,
  },
  {
    name: "size below the struct (EINVAL)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, size: 28, entries: [{ iotlb_id: 0 }] }",
    returns: "EINVAL",
    entryNum: 1,
  },
  {
    name: "a longer struct with a non-zero tail (E2BIG)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, tail: [0, 0, 0, 0, 0, 0, 0, 1], entries: [{}] }",
    returns: "E2BIG",
    entryNum: 1,
  },
  {
    name: "a longer struct with a zero tail works",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, tail: [0, 0, 0, 0, 0, 0, 0, 0], entries: [{}] }",
    returns: 0,
    entryNum: 1,
  },
  {
    name: "__reserved set (EOPNOTSUPP, from the core)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, reserved: 1, entries: [{ iotlb_id: 0 }] }",
    returns: "EOPNOTSUPP",
    entryNum: 0,
  },
  {
    name: "an ioctl number below IOMMUFD_CMD_BASE (ENOTTY)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: nested, ioctl: 0x3b7f, entries: [{ iotlb_id: 0 }] }",
    returns: "ENOTTY",
    entryNum: 1,
  },
  {
    name: "a data type the object does not take (selftest type to the vSMMU)",
    head: ARM_HEAD,
    step: "viommu_invalidate: { viommu: vsmmu, data_type: selftest, entries: [TLBI_NSNH_ALL] }",
    returns: "EINVAL",
    entryNum: 0,
  },
  {
    name: "an IOAS is not invalidated (EINVAL)",
    head: SELFTEST_HEAD,
    step: "hwpt_invalidate: { hwpt: ioas, data_type: selftest, entries: [] }",
    returns: "EINVAL",
    entryNum: 0,
  },
  {
    name: "an ARM nested HWPT has no cache_invalidate_user (EOPNOTSUPP)",
    head: ARM_HEAD + "  anest: { type: hwpt_nested, parent: vsmmu }\n",
    step: "hwpt_invalidate: { hwpt: anest, data_type: arm_smmuv3, entries: [] }",
    returns: "EOPNOTSUPP",
    entryNum: 0,
  },
];

Deno.test("hwpt_invalidate / viommu_invalidate give the kernel's errno for bad layouts", async (t) => {
  for (const row of ROWS) {
    await t.step(row.name, () => {
      for (const variant of ["core-loop", "driver-loop"]) {
        const text = `${row.head}variant: { iommufd: ${variant} }\n${steps(row.step)}`;
        const [o] = outcomesOf(text);
        assert.equal(o.returns, row.returns, variant);
        assert.equal(o.entryNum, row.entryNum, variant);
      }
    });
  }
});

Deno.test("viommu_invalidate: a huge entry_num is ENOMEM pre-series, reporting the input count", () => {
  // iommufd.md §4.3 step 2: kcalloc of 0xffffffff * 12 bytes fails; the pre-series op returns
  // without writing entry_num, so the core reports the input. The converted op reads one entry
  // per call: entry 1 (zero bytes past the data) has vdev_id 0, which no vDEVICE has.
  const step = "viommu_invalidate: { viommu: viommu, entry_num: 0xffffffff, entries: " +
    "[{ vdev_id: 0x99 }] }";
  const [pre] = outcomesOf(`${SELFTEST_HEAD}variant: { iommufd: driver-loop }\n${steps(step)}`);
  assert.deepEqual([pre.returns, pre.entryNum], ["ENOMEM", 0xffffffff]);
  const [post] = outcomesOf(`${SELFTEST_HEAD}${steps(step)}`);
  assert.deepEqual([post.returns, post.entryNum], ["EINVAL", 1]);
});

Deno.test("data_type and bytes arguments are checked when the spec loads", () => {
  assert.deepEqual(
    specErrorsOf(SELFTEST_HEAD + steps("hwpt_invalidate: { hwpt: nested, data_type: selftst }")),
    [
      '11: Invalid data_type: unknown data type "selftst" (did you mean "selftest"?): use ' +
      "vtd_s1, arm_smmuv3, selftest, selftest_invalid or a 32-bit number",
    ],
  );
  assert.deepEqual(
    specErrorsOf(SELFTEST_HEAD + steps('hwpt_invalidate: { hwpt: nested, tail: "f" }')),
    ['11: Invalid tail: expected bytes: [0xff, 0] or hex text such as "ff 00"'],
  );
  assert.deepEqual(
    specErrorsOf(SELFTEST_HEAD + steps("hwpt_invalidate: { hwpt: nested, tail: [256] }")),
    ['11: Invalid tail: expected bytes: [0xff, 0] or hex text such as "ff 00"'],
  );
  // Numbers pass as they are; the object type decides what the op makes of them.
  assert.deepEqual(
    specErrorsOf(SELFTEST_HEAD + steps("hwpt_invalidate: { hwpt: nested, data_type: 0xdeadbeef }")),
    [],
  );
});

const TARGETS = ["nested", "viommu", "vsmmu", "parent", "ioas", "mdev", 0, 3, 11, 99];
const COMBINED = ARM_HEAD + `  mdev: { type: device }
  mparent: { type: hwpt_paging, ioas: ioas, nest_parent: true }
  nested: { type: hwpt_nested, parent: mparent }
  viommu: { type: viommu, hwpt: mparent, device: mdev }
  mvdev: { type: vdevice, viommu: viommu, device: mdev, virt_id: 0x99 }
matrix: { iommufd: [core-loop, driver-loop] }
`;

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

const arbRequest = fc.record({
  target: fc.constantFrom(...TARGETS),
  data: fc.uint8Array({ maxLength: 80 }).map(hex),
  entry_num: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(0xffffffff)),
  entry_len: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  data_type: fc.option(
    fc.oneof(
      fc.constantFrom("vtd_s1", "arm_smmuv3", "selftest", "selftest_invalid"),
      fc.integer({ min: 0, max: 0xffffffff }),
    ),
    { nil: undefined },
  ),
  uptr: fc.option(
    fc.oneof(
      fc.constant(null),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `0x${v.toString(16)}`),
    ),
    { nil: undefined },
  ),
  size: fc.option(fc.integer({ min: 0, max: 48 }), { nil: undefined }),
  tail: fc.option(fc.uint8Array({ maxLength: 12 }).map(hex), { nil: undefined }),
  reserved: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  fault: fc.option(
    fc.record(
      {
        data_at: fc.integer({ min: 0, max: 100 }),
        cmd_at: fc.integer({ min: 0, max: 40 }),
        cmd_readonly: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  ),
  chunk: fc.option(fc.integer({ min: 1, max: 70 }), { nil: undefined }),
  op_variant: fc.option(fc.constantFrom("core-loop", "driver-loop"), { nil: undefined }),
  // IOMMU_HWPT_INVALIDATE, the number below iommufd's first, or anything outside iommufd's.
  ioctl: fc.option(
    fc.oneof(
      fc.constantFrom(0x3b8d, 0x3b7f),
      fc.integer({ min: 0, max: 0xffffffff }).filter((v) => v < 0x3b80 || v > 0x3b94),
    ),
    { nil: undefined },
  ),
});

Deno.test("random bad byte layouts never crash: each ends in 0 or an errno", () => {
  fc.assert(
    fc.property(arbRequest, ({ target, ...req }) => {
      const args = Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined));
      const verb = typeof target === "string" && target.includes("viommu")
        ? { viommu_invalidate: { viommu: target, ...args } }
        : { hwpt_invalidate: { hwpt: target, ...args } };
      const text = `${COMBINED}steps:\n  - ${JSON.stringify(verb)}\n`;
      for (const r of runText(text)) {
        assert.deepEqual(r.errors, [], text);
        const o = r.steps[0].outcome;
        assert.ok(o.returns === 0 || ERRNOS.includes(o.returns as never), String(o.returns));
        // Nothing is reported handled beyond what was asked for; success handles all of it.
        assert.ok((o.entryNum ?? 0) <= req.entry_num, text);
        if (o.returns === 0) assert.equal(o.entryNum, req.entry_num, text);
      }
    }),
    PROPERTY_SETTINGS,
  );
});
