// Tests of lib/sva/workqueue.ts: schedule_work() of a static work item vs allocated ones.
import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import { scheduleWork, type Work } from "../../../lib/sva/mod.ts";

Deno.test("scheduleWork() queues the static kernel page-table item only once", () => {
  const log = eventLogCreate();
  const wq: Work[] = [];
  assert.equal(scheduleWork(wq, { kind: "kernel_pgtable" }, log), true);
  assert.equal(scheduleWork(wq, { kind: "kernel_pgtable" }, log), false);
  assert.deepEqual(wq, [{ kind: "kernel_pgtable" }]);
});

Deno.test("scheduleWork() queues every allocated kva item", () => {
  const log = eventLogCreate();
  const wq: Work[] = [];
  const w: Work = { kind: "kva_invalidation", start: 0n, end: 0x1000n };
  assert.equal(scheduleWork(wq, w, log), true);
  assert.equal(scheduleWork(wq, { ...w }, log), true);
  assert.equal(scheduleWork(wq, { kind: "kernel_pgtable" }, log), true);
  assert.equal(wq.length, 3);
  assert.deepEqual(
    log.events.map((e) => e.kind === "trace" && e.data.queued),
    [true, true, true],
  );
});
