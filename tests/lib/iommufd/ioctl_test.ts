import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  type Errno,
  hwptInvalidate,
  hwptMockIotlb,
  ioctlIo,
  IOMMU_HWPT_INVALIDATE,
  IOMMUFD_TYPE,
  iommufdCreate,
  iommufdIoctl,
  ucmdRespond,
  userMemMap,
  userMemRead,
} from "../../../lib/iommufd/mod.ts";
import { selftestNestedWorld } from "./fixtures.ts";

const D = 0xbadbeef;

// Ported from TEST_F(iommufd, cmd_length): TEST_LENGTH(iommu_hwpt_invalidate,
// IOMMU_HWPT_INVALIDATE, __reserved) (iommufd.md §5.1). The buffer is the zeroed struct
// followed by one byte `extra`, 0xFF at first; hwpt_id 0 never resolves.
const L_ROWS: readonly { n: string; size: number; extra: number; rc: Errno }[] = [
  { n: "L1 size 31: below min_size", size: 31, extra: 0xff, rc: "EINVAL" },
  { n: "L2 size 33, non-zero extra byte", size: 33, extra: 0xff, rc: "E2BIG" },
  { n: "L3 size 32: reaches the handler, ID 0", size: 32, extra: 0xff, rc: "ENOENT" },
  { n: "L4 size 33, zero extra byte: as L3", size: 33, extra: 0, rc: "ENOENT" },
];

Deno.test("iommufdIoctl() matches the kernel's cmd_length rows", async (t) => {
  const fd = iommufdCreate(eventLogCreate());
  for (const r of L_ROWS) {
    await t.step(r.n, () => {
      const res = hwptInvalidate(fd, {
        hwptId: 0,
        dataUptr: 0n,
        dataType: 0,
        entryLen: 0,
        size: r.size,
        tail: new Uint8Array([r.extra]),
      });
      assert.equal(res.rc, r.rc);
      assert.equal(res.opCalls, 0);
    });
  }
});

Deno.test("iommufdIoctl() returns ENOTTY for an ioctl it does not know", () => {
  const w = selftestNestedWorld();
  for (
    const cmd of [ioctlIo(IOMMUFD_TYPE, 0x7f), ioctlIo(0x3a, 0x8d), IOMMU_HWPT_INVALIDATE | 1 << 30]
  ) {
    const res = hwptInvalidate(w.fd, { hwptId: w.nested[0], ioctl: cmd });
    assert.equal(res.rc, "ENOTTY");
  }
});

Deno.test("iommufdIoctl() reads size before looking the ioctl up: EFAULT wins over ENOTTY", () => {
  const fd = iommufdCreate(eventLogCreate());
  assert.deepEqual(iommufdIoctl(fd, { cmd: 0x1234, arg: 0n }), { rc: "EFAULT" });
  assert.deepEqual(iommufdIoctl(fd, { cmd: IOMMU_HWPT_INVALIDATE, arg: 0x5000n }), {
    rc: "EFAULT",
  });
});

Deno.test("iommufdIoctl() throws for an iommufd ioctl the model does not have", () => {
  const fd = iommufdCreate(eventLogCreate());
  userMemMap(fd.mem, 0x5000n, 64);
  assert.throws(
    () => iommufdIoctl(fd, { cmd: ioctlIo(IOMMUFD_TYPE, 0x80), arg: 0x5000n }),
    RangeError,
  );
});

Deno.test("iommufdIoctl() faults in the command struct: EFAULT, handler not run", async (t) => {
  const w = selftestNestedWorld();
  const rows: [string, { cmdFaultAt: number; size?: number; tail?: Uint8Array }][] = [
    ["size unreadable", { cmdFaultAt: 2 }],
    ["struct cut at 16 bytes", { cmdFaultAt: 16 }],
    ["zero tail past the mapping", { cmdFaultAt: 32, tail: new Uint8Array(8) }],
  ];
  for (const [name, req] of rows) {
    await t.step(name, () => {
      const res = hwptInvalidate(w.fd, {
        hwptId: w.nested[0],
        entries: [{ kind: "selftest", iotlbId: 0 }],
        ...req,
      });
      assert.deepEqual([res.rc, res.opCalls], ["EFAULT", 0]);
      assert.deepEqual(hwptMockIotlb(w.fd, w.nested[0]), [D, D, D, D]);
    });
  }
});

Deno.test("iommufdIoctl() a non-zero tail byte before the fault is E2BIG", () => {
  const w = selftestNestedWorld();
  const res = hwptInvalidate(w.fd, {
    hwptId: w.nested[0],
    tail: new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0]),
    cmdFaultAt: 36,
  });
  assert.equal(res.rc, "E2BIG");
});

Deno.test("iommufdIoctl() a failed copy back is EFAULT after the op ran", () => {
  // iommufd_ucmd_respond() fails: the invalidation happened, but the program sees EFAULT and
  // its entry_num unchanged.
  const w = selftestNestedWorld();
  const res = hwptInvalidate(w.fd, {
    hwptId: w.nested[0],
    entries: [{ kind: "selftest", iotlbId: 1 }, { kind: "selftest", iotlbId: 7 }],
    readOnlyCmd: true,
  });
  assert.deepEqual([res.rc, res.entryNum, res.opCalls], ["EFAULT", 2, 2]);
  assert.deepEqual(hwptMockIotlb(w.fd, w.nested[0]), [D, 0, D, D]);
});

Deno.test("iommufdIoctl() writes entry_num back even when the handler fails early", () => {
  // iommufd_hwpt_invalidate() writes done_num (0) on every exit, e.g. ENOENT.
  const w = selftestNestedWorld();
  const res = hwptInvalidate(w.fd, { hwptId: 77, entries: [{ kind: "selftest" }] });
  assert.deepEqual([res.rc, res.entryNum], ["ENOENT", 0]);
  // The dispatch failing (E2BIG) leaves the program's struct alone.
  const res2 = hwptInvalidate(w.fd, {
    hwptId: 77,
    entries: [{ kind: "selftest" }],
    tail: new Uint8Array([9]),
  });
  assert.deepEqual([res2.rc, res2.entryNum], ["E2BIG", 1]);
});

Deno.test("ucmdRespond() copies min(user size, sizeof) bytes", () => {
  const fd = iommufdCreate(eventLogCreate());
  userMemMap(fd.mem, 0x5000n, 64);
  const kbuf = new Uint8Array(32).fill(0xaa);
  assert.equal(ucmdRespond(fd, { ubuffer: 0x5000n, userSize: 40 }, kbuf), 0);
  const back = userMemRead(fd.mem, 0x5000n, 40).bytes;
  assert.deepEqual([back[31], back[32]], [0xaa, 0]);
});
