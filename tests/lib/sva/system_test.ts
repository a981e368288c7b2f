// Tests of lib/sva/system.ts: the system defaults and running the deferred work.
import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import {
  ARM64_PAGE_OFFSET,
  flushScheduledWork,
  svaSystemCreate,
  X86_64_PAGE_OFFSET,
} from "../../../lib/sva/mod.ts";

Deno.test("svaSystemCreate() starts with nothing bound, PAGE_OFFSET by architecture", () => {
  const x86 = svaSystemCreate(eventLogCreate());
  assert.equal(x86.arch, "x86_64");
  assert.equal(x86.variant, "mainline");
  // x86-64 4-level paging without KASLR: the direct map starts at 0xffff888000000000.
  assert.equal(x86.pageOffset, X86_64_PAGE_OFFSET);
  assert.equal(X86_64_PAGE_OFFSET, 0xffff888000000000n);
  assert.equal(x86.present, false);
  const arm = svaSystemCreate(eventLogCreate(), { arch: "arm64" });
  // arm64 with 48-bit VAs: -(1 << 48).
  assert.equal(arm.pageOffset, ARM64_PAGE_OFFSET);
  assert.equal(ARM64_PAGE_OFFSET, (1n << 64n) - (1n << 48n));
});

Deno.test("flushScheduledWork() runs the items oldest first until none is left", () => {
  const log = eventLogCreate();
  const sys = svaSystemCreate(log);
  sys.workqueue.push(
    { kind: "kva_invalidation", start: 1n, end: 2n },
    { kind: "kernel_pgtable" },
  );
  assert.equal(flushScheduledWork(sys), 2);
  assert.deepEqual(sys.workqueue, []);
  const ran = log.events.flatMap((e) =>
    e.kind === "trace" && e.name === "work_run" ? [e.data.work] : []
  );
  assert.deepEqual(ran, ["kva_invalidation", "kernel_pgtable"]);
  assert.equal(flushScheduledWork(sys), 0);
});

Deno.test("flushScheduledWork() stops at the step budget", () => {
  const log = eventLogCreate(2);
  const sys = svaSystemCreate(log);
  for (let i = 0; i < 3; i++) sys.workqueue.push({ kind: "kva_invalidation", start: 0n, end: 1n });
  assert.equal(flushScheduledWork(sys), 2);
  assert.deepEqual(log.events.at(-1), { kind: "hang", fn: "flush_scheduled_work", iterations: 2 });
});
