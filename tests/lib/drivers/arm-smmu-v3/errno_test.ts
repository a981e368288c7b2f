import assert from "node:assert/strict";
import { errno, ERRNOS, isErr } from "../../../../lib/drivers/arm-smmu-v3/errno.ts";

Deno.test("errno() builds the value isErr() recognises; 0 is success", () => {
  for (const e of ERRNOS) assert.ok(isErr(errno(e)));
  assert.deepEqual(errno("EINVAL"), { errno: "EINVAL" });
  assert.equal(isErr(0), false);
  assert.equal(isErr(null), false);
});
