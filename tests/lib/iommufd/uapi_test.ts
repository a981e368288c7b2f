import assert from "node:assert/strict";
import {
  HWPT_INVALIDATE_SIZE,
  hwptInvalidateDecode,
  hwptInvalidateEncode,
  IOMMU_HWPT_INVALIDATE,
} from "../../../lib/iommufd/mod.ts";
import {
  armSmmuv3InvalidateDecode,
  armSmmuv3InvalidateEncode,
  vtdS1InvalidateDecode,
  vtdS1InvalidateEncode,
} from "../../../lib/iommufd/uapi.ts";

Deno.test("IOMMU_HWPT_INVALIDATE is _IO(';', 0x8d)", () => {
  assert.equal(IOMMU_HWPT_INVALIDATE, 0x3b8d);
});

Deno.test("hwptInvalidateEncode() lays out struct iommu_hwpt_invalidate as C does", () => {
  const cmd = {
    size: 32,
    hwptId: 0x11223344,
    dataUptr: 0x0102030405060708n,
    dataType: 0xdeadbeef,
    entryLen: 8,
    entryNum: 2,
    reserved: 0,
  };
  const b = hwptInvalidateEncode(cmd);
  assert.equal(b.length, HWPT_INVALIDATE_SIZE);
  // size@0, hwpt_id@4, data_uptr@8 (aligned u64), data_type@16, entry_len@20,
  // entry_num@24, __reserved@28, all little-endian.
  // deno-fmt-ignore
  const want = [
    32, 0, 0, 0, 0x44, 0x33, 0x22, 0x11,
    8, 7, 6, 5, 4, 3, 2, 1,
    0xef, 0xbe, 0xad, 0xde, 8, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0,
  ];
  assert.deepEqual([...b], want);
  assert.deepEqual(hwptInvalidateDecode(b), cmd);
});

Deno.test("vtdS1InvalidateEncode() is addr@0, npages@8, flags@16, __reserved@20 (24 bytes)", () => {
  const e = { addr: 0x40000n, npages: 2n, flags: 1, reserved: 3 };
  const b = vtdS1InvalidateEncode(e);
  assert.deepEqual([b.length, b[2], b[8], b[16], b[20]], [24, 4, 2, 1, 3]);
  assert.deepEqual(vtdS1InvalidateDecode(b), e);
});

Deno.test("armSmmuv3InvalidateEncode() is cmd[0], cmd[1] as le64", () => {
  const b = armSmmuv3InvalidateEncode([0x0001000000100012n, 0x0000000000040701n]);
  assert.deepEqual([b[0], b[2], b[6], b[8], b[9], b[10]], [0x12, 0x10, 0x01, 0x01, 0x07, 0x04]);
  assert.deepEqual(armSmmuv3InvalidateDecode(b), [0x0001000000100012n, 0x0000000000040701n]);
});
