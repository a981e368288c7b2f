import assert from "node:assert/strict";
import { eventLogCreate } from "../../../../lib/events.ts";
import { smmuCreate } from "../../../../lib/hw/smmuv3/smmu.ts";
import { isErr } from "../../../../lib/errno.ts";
import {
  invCmp,
  invCmpV9,
  invMake,
  type Invs,
  invsAlloc,
  invsEntries,
  invsForEachCmp,
  invsMerge,
  invsPurge,
  invsUnref,
  invsUnrefV9,
  type InvsVariant,
  type InvType,
} from "../../../../lib/drivers/arm-smmu-v3/invs.ts";

// The KUnit inputs have no SMMU (all NULL pointers): one shared instance orders the same way.
const log = eventLogCreate();
const SMMU = smmuCreate("smmu0", log);

function invs(rows: readonly [InvType, number, number?][]): Invs {
  const a = invsAlloc(rows.length);
  for (const [type, id, ssid] of rows) {
    a.inv[a.numInvs++] = invMake(SMMU, { type: type, id: id, ssid });
  }
  return a;
}

// Ported from arm_smmu_v3_invs_test() (arm-smmu-v3-test.c, mainline): the static inputs.
const INVS1 = () => invs([["S2_VMID", 1], ["S2_VMID_S1_CLEAR", 1], ["ATS", 3]]);
const INVS2 = () => invs([["S2_VMID", 1], ["ATS", 4], ["ATS", 5]]);
const INVS3 = () => invs([["S2_VMID", 1], ["ATS", 5], ["ATS", 6]]);
const INVS4 = () => invs([["ATS", 10, 1], ["ATS", 10, 3], ["ATS", 12, 1]]);
const INVS5 = () => invs([["ATS", 10, 2], ["ATS", 10, 3], ["ATS", 12, 2]]);

interface Step {
  readonly n: number;
  readonly op: "merge" | "unref" | "purge";
  readonly arg?: () => Invs;
  readonly ids: readonly number[];
  readonly users: readonly number[];
  /** Expected ssids; null where the source test does not check them. */
  readonly ssids: readonly number[] | null;
  /** Expected num_trashes; null where the source test does not check it. */
  readonly trashes: number | null;
}

// arm_smmu_v3_invs_test(), mainline: results1..results10 and the num_trashes argument of
// every verify call (step 7 checks num_invs == 0 and num_trashes == 0 directly).
const MAINLINE: readonly Step[] = [
  { n: 1, op: "merge", arg: INVS1, ids: [1, 1, 3], users: [1, 1, 1], ssids: [0, 0, 0], trashes: 0 },
  {
    n: 2,
    op: "merge",
    arg: INVS2,
    ids: [1, 1, 3, 4, 5],
    users: [2, 1, 1, 1, 1],
    ssids: [0, 0, 0, 0, 0],
    trashes: 0,
  },
  { n: 3, op: "unref", arg: INVS2, ids: [1, 1, 3], users: [1, 1, 1], ssids: [0, 0, 0], trashes: 0 },
  {
    n: 4,
    op: "merge",
    arg: INVS3,
    ids: [1, 1, 3, 5, 6],
    users: [2, 1, 1, 1, 1],
    ssids: [0, 0, 0, 0, 0],
    trashes: 0,
  },
  {
    n: 5,
    op: "unref",
    arg: INVS1,
    ids: [1, 1, 3, 5, 6],
    users: [1, 0, 0, 1, 1],
    ssids: [0, 0, 0, 0, 0],
    trashes: 2,
  },
  { n: 6, op: "purge", ids: [1, 5, 6], users: [1, 1, 1], ssids: [0, 0, 0], trashes: 0 },
  { n: 7, op: "unref", arg: INVS3, ids: [], users: [], ssids: [], trashes: 0 },
  {
    n: 8,
    op: "merge",
    arg: INVS4,
    ids: [10, 10, 12],
    users: [1, 1, 1],
    ssids: [1, 3, 1],
    trashes: 0,
  },
  {
    n: 9,
    op: "merge",
    arg: INVS5,
    ids: [10, 10, 10, 12, 12],
    users: [1, 1, 2, 1, 1],
    ssids: [1, 2, 3, 1, 2],
    trashes: 0,
  },
  {
    n: 10,
    op: "unref",
    arg: INVS5,
    ids: [10, 10, 10, 12],
    users: [1, 0, 1, 1],
    ssids: [1, 2, 3, 1],
    trashes: 1,
  },
  { n: 11, op: "purge", ids: [10, 10, 12], users: [1, 1, 1], ssids: [1, 3, 1], trashes: 0 },
];

// The v9 test (seed 001, patch 3/7): steps 1-7 with the same ids and users (results1..
// results6), no ssids, and num_trashes checked after steps 3, 5 and 7 only.
const V9: readonly Step[] = MAINLINE.slice(0, 7).map((s) => ({
  ...s,
  ssids: null,
  trashes: [3, 5, 7].includes(s.n) ? s.trashes : null,
}));

function apply(a: Invs, s: Step, variant: InvsVariant): Invs {
  const opts = { log, variant };
  if (s.op === "merge") {
    const r = invsMerge(a, s.arg!(), opts);
    assert.ok(!isErr(r));
    return r;
  }
  if (s.op === "unref") {
    if (variant === "v9") invsUnrefV9(a, s.arg!(), opts);
    else invsUnref(a, s.arg!(), opts);
    return a;
  }
  const r = invsPurge(a, opts);
  assert.ok(r !== null && !isErr(r));
  return r;
}

function live(a: Invs) {
  return a.inv.slice(0, a.numInvs);
}

for (const [variant, steps] of [["mainline", MAINLINE], ["v9", V9]] as const) {
  Deno.test(`invsMerge/Unref/Purge() match the kernel's invs KUnit steps (${variant})`, async (t) => {
    const before = log.events.length;
    let a = invsAlloc(0);
    assert.equal(a.numInvs, 0);
    for (const s of steps) {
      await t.step(`step ${s.n}: ${s.op}`, () => {
        a = apply(a, s, variant);
        assert.equal(a.numInvs, s.ids.length);
        assert.deepEqual(live(a).map((e) => e.id), s.ids);
        assert.deepEqual(live(a).map((e) => e.users), s.users);
        if (s.ssids) assert.deepEqual(live(a).map((e) => e.ssid), s.ssids);
        if (s.trashes !== null) assert.equal(a.numTrashes, s.trashes);
      });
    }
    assert.equal(log.events.length, before, "no WARN on the KUnit sequence");
  });
}

Deno.test("invsMerge() keeps the left array untouched and shares no entry object", () => {
  const a = invsMerge(invsAlloc(0), INVS1(), { log });
  assert.ok(!isErr(a));
  const b = invsMerge(a, INVS2(), { log });
  assert.ok(!isErr(b));
  assert.deepEqual(a.inv.map((e) => e.users), [1, 1, 1]);
  for (const e of b.inv) assert.ok(!a.inv.includes(e));
  assert.equal(b.maxInvs, 5);
  assert.equal(b.hasAts, true);
});

Deno.test("invsMerge() drops trash of the left array", () => {
  // Step 5 of the KUnit sequence leaves two trash entries in the middle.
  const a = invsMerge(invsAlloc(0), INVS3(), { log }) as Invs;
  invsUnref(a, invs([["ATS", 5]]), { log });
  assert.deepEqual([a.numInvs, a.numTrashes], [3, 1]);
  const b = invsMerge(a, invs([["ATS", 7]]), { log }) as Invs;
  assert.deepEqual(b.inv.map((e) => [e.id, e.users]), [[1, 1], [6, 1], [7, 1]]);
  assert.equal(b.numTrashes, 0);
});

Deno.test("invsMerge() WARNs when the scratch is not sorted", () => {
  const l = eventLogCreate();
  const r = invsMerge(invsAlloc(0), invs([["ATS", 5], ["S1_ASID", 1]]), { log: l });
  assert.ok(!isErr(r));
  assert.deepEqual(l.events.map((e) => e.kind === "warn" && e.fn), ["arm_smmu_invs_merge"]);
});

Deno.test("invsMerge() reports ENOMEM as a value", () => {
  assert.deepEqual(invsMerge(invsAlloc(0), INVS1(), { log, nomem: true }), { errno: "ENOMEM" });
});

Deno.test("invsUnref() marks the scratch with which entries died", () => {
  const a = invsMerge(invsAlloc(0), INVS1(), { log }) as Invs;
  const again = invsMerge(a, invs([["S2_VMID", 1]]), { log }) as Invs;
  const scratch = INVS1();
  invsUnref(again, scratch, { log });
  // S2_VMID had two users (still used: 1); the other two died (0).
  assert.deepEqual(scratch.inv.map((e) => e.users), [1, 0, 0]);
  assert.deepEqual([again.numInvs, again.numTrashes], [1, 0]);
});

Deno.test("invsUnref() WARNs for an entry it cannot find and keeps the scratch count", () => {
  const l = eventLogCreate();
  const a = invsMerge(invsAlloc(0), INVS1(), { log: l }) as Invs;
  const scratch = invs([["S1_ASID", 9]]);
  invsUnref(a, scratch, { log: l });
  assert.equal(scratch.inv[0].users, 0, "a scratch entry starts at 0 and stays 0 (§15.6)");
  assert.deepEqual(l.events.map((e) => e.kind === "warn" && e.fn), ["arm_smmu_invs_unref"]);
  assert.equal(a.numInvs, 3);
});

Deno.test("invsUnrefV9() returns the entries that reached zero, in array order", () => {
  const a = invsMerge(invsAlloc(0), INVS1(), { log, variant: "v9" }) as Invs;
  const freed = invsUnrefV9(a, INVS1(), { log, variant: "v9" });
  assert.deepEqual(freed.map((e) => e.type), ["S2_VMID", "S2_VMID_S1_CLEAR", "ATS"]);
  assert.deepEqual([a.numInvs, a.numTrashes], [0, 0]);
});

Deno.test("invsPurge() returns null without trash and recomputes hasAts (mainline only)", () => {
  const a = invsMerge(invsAlloc(0), invs([["S1_ASID", 1], ["ATS", 4]]), { log }) as Invs;
  assert.equal(invsPurge(a, { log }), null);
  invsUnref(a, invs([["S1_ASID", 1]]), { log });
  assert.deepEqual([a.numInvs, a.numTrashes], [2, 1]);
  const m = invsPurge(a, { log }) as Invs;
  assert.deepEqual([m.numInvs, m.hasAts], [1, true]);
  // v9: the purged array keeps has_ats false.
  const v = invsPurge(a, { log, variant: "v9" }) as Invs;
  assert.deepEqual([v.numInvs, v.hasAts], [1, false]);
});

Deno.test("invsPurge() on allocation failure: NULL in mainline, ERR_PTR in v9", () => {
  const a = invsMerge(invsAlloc(0), INVS3(), { log }) as Invs;
  invsUnref(a, invs([["S2_VMID", 1]]), { log });
  assert.equal(invsPurge(a, { log, nomem: true }), null);
  assert.deepEqual(invsPurge(a, { log, nomem: true, variant: "v9" }), { errno: "ENOMEM" });
});

Deno.test("invCmp() orders by SMMU, type, id, then PASID for ATS types; invCmpV9() ignores PASID", () => {
  const other = smmuCreate("smmu1", log, { sortKey: 1 });
  const a = invMake(SMMU, { type: "ATS", id: 10, ssid: 1 });
  const b = invMake(SMMU, { type: "ATS", id: 10, ssid: 3 });
  assert.equal(invCmp(a, b), -1);
  assert.equal(invCmpV9(a, b), 0);
  assert.equal(
    invCmp(invMake(SMMU, { type: "ATS_FULL", id: 1 }), invMake(SMMU, { type: "ATS", id: 9 })),
    1,
  );
  assert.equal(
    invCmp(invMake(other, { type: "S1_ASID", id: 1 }), invMake(SMMU, { type: "ATS", id: 9 })),
    1,
  );
  // Non-ATS entries never compare PASIDs (the field holds pgsize in the kernel's union).
  assert.equal(
    invCmp(
      invMake(SMMU, { type: "S1_ASID", id: 1, pgsize: 12 }),
      invMake(SMMU, { type: "S1_ASID", id: 1 }),
    ),
    0,
  );
});

Deno.test("invMake() picks the opcodes of arm_smmu_master_build_inv()", () => {
  const e2h = smmuCreate("smmu2", log, { features: ["e2h"] });
  const ops = (s: typeof SMMU, t: InvType) => {
    const e = invMake(s, { type: t, id: 1 });
    return [e.sizeOpcode, e.nsizeOpcode];
  };
  assert.deepEqual(ops(SMMU, "S1_ASID"), ["TLBI_NH_VA", "TLBI_NH_ASID"]);
  assert.deepEqual(ops(e2h, "S1_ASID"), ["TLBI_EL2_VA", "TLBI_EL2_ASID"]);
  assert.deepEqual(ops(SMMU, "S2_VMID"), ["TLBI_S2_IPA", "TLBI_S12_VMALL"]);
  assert.deepEqual(ops(SMMU, "S2_VMID_S1_CLEAR"), ["TLBI_NH_ALL", "TLBI_NH_ALL"]);
  assert.deepEqual(ops(SMMU, "ATS_FULL"), ["ATC_INV", "ATC_INV"]);
});

Deno.test("invsForEachCmp() pairs a base array (skipping trash) with a scratch", () => {
  // KUnit step 5's array: [S2_VMID 1, S1_CLEAR 1 (trash), ATS 3 (trash), ATS 5, ATS 6].
  let a = invsMerge(invsAlloc(0), INVS1(), { log }) as Invs;
  a = invsMerge(a, INVS3(), { log }) as Invs;
  invsUnref(a, INVS1(), { log });
  const steps: [number, number, number][] = [];
  invsForEachCmp(a, invs([["S2_VMID", 1], ["ATS", 4], ["ATS", 6]]), {
    body: (i, j, cmp) => steps.push([i, j, cmp]),
  });
  // S2_VMID in both; ATS 4 only in the scratch; ATS 5 only in the base; ATS 6 in both.
  assert.deepEqual(steps, [[0, 0, 0], [3, 1, 1], [3, 2, -1], [4, 2, 0]]);
  assert.equal(invsEntries(a).length, 5);
});
