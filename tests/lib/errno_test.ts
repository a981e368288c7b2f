import assert from "node:assert/strict";
import { errno, ERRNO_NUMBERS, ERRNOS, isErr, isErrno } from "../../lib/errno.ts";

Deno.test("errno() builds the value isErr() recognises; 0 is success", () => {
  for (const e of ERRNOS) assert.ok(isErr(errno(e)));
  assert.deepEqual(errno("EINVAL"), { errno: "EINVAL" });
  assert.equal(isErr(0), false);
  assert.equal(isErr(null), false);
});

Deno.test("ERRNO_NUMBERS are the Linux generic numbers", () => {
  // include/uapi/asm-generic/errno-base.h and errno.h.
  assert.equal(ERRNO_NUMBERS.ENOENT, 2);
  assert.equal(ERRNO_NUMBERS.EINVAL, 22);
  assert.equal(ERRNO_NUMBERS.EOPNOTSUPP, 95);
  assert.equal(ERRNO_NUMBERS.ETIMEDOUT, 110);
  assert.ok(isErrno("E2BIG"));
  assert.equal(isErrno("EWHATEVER"), false);
});
