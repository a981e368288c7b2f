import assert from "node:assert/strict";
import { ERRNO_NUMBERS, isErrno } from "../../../lib/iommufd/mod.ts";

Deno.test("ERRNO_NUMBERS holds the Linux generic numbers", () => {
  assert.deepEqual(
    [ERRNO_NUMBERS.ENOENT, ERRNO_NUMBERS.EIO, ERRNO_NUMBERS.E2BIG, ERRNO_NUMBERS.EFAULT],
    [2, 5, 7, 14],
  );
  assert.deepEqual([ERRNO_NUMBERS.EINVAL, ERRNO_NUMBERS.ENOTTY, ERRNO_NUMBERS.EOPNOTSUPP], [
    22,
    25,
    95,
  ]);
});

Deno.test("isErrno() knows errno names only", () => {
  assert.equal(isErrno("EINVAL"), true);
  assert.equal(isErrno("EWHAT"), false);
  assert.equal(isErrno("toString"), false);
  assert.equal(isErrno(0), false);
});
