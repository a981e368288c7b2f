// Tests of lib/sva/mm.ts: a process's exit (exit_mmap(), then mmdrop()).
import assert from "node:assert/strict";
import { isErr } from "../../../lib/errno.ts";
import {
  mmCreate,
  mmExit,
  svaBindDevice,
  svaHandleOf,
  svaUnbindDevice,
} from "../../../lib/sva/mod.ts";
import { proc, svaWorld, take, traces } from "./_fixtures.ts";

const ONE = { vtd: ["dmar0"], vtdDevs: { d: ["dmar0", 0x300, false] } } as const;

Deno.test("mmCreate() makes an unbound process", () => {
  assert.deepEqual(mmCreate("p", { pgd: 0x1000n }), {
    name: "p",
    pgd: 0x1000n,
    iommuMm: null,
    notifiers: [],
    exited: false,
  });
});

Deno.test("mmExit() of a process with no SVA domain left gives its PASID back", () => {
  const w = svaWorld(ONE);
  const p1 = proc("p1");
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs.d, mm: p1 })));
  svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "d", mm: p1 })!);
  assert.equal(p1.iommuMm?.pasid, 1, "unbinding keeps the PASID with the mm");
  take(w);
  mmExit(w.sys, p1);
  assert.equal(p1.iommuMm, null);
  assert.equal(w.sys.pasids.size, 0);
  assert.deepEqual(take(w), []);
});

Deno.test("mmExit() of a bound process releases the notifiers and keeps the PASID", () => {
  const w = svaWorld(ONE);
  const p1 = proc("p1");
  assert.ok(!isErr(svaBindDevice(w.sys, { dev: w.devs.d, mm: p1 })));
  mmExit(w.sys, p1);
  mmExit(w.sys, p1);
  assert.equal(p1.exited, true);
  assert.equal(p1.iommuMm?.pasid, 1);
  assert.equal(traces(w).filter((t) => t === "mmu_notifier_release").length, 1);
  // The PASID entry went down at release; the unbind finds it fault-disabled and only
  // clears it, sending nothing.
  take(w);
  svaUnbindDevice(w.sys, svaHandleOf(w.sys, { dev: "d", mm: p1 })!);
  assert.deepEqual(take(w), []);
  assert.equal(p1.iommuMm, null);
});
