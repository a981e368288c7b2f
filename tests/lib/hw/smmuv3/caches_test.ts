import assert from "node:assert/strict";
import {
  cdKey,
  cfgiExecute,
  type SmmuCaches,
  smmuCachesCreate,
  smmuCachesEmpty,
  smmuTag,
} from "../../../../lib/hw/smmuv3/caches.ts";
import { type Cmd, makeCmd } from "../../../../lib/hw/smmuv3/cmd.ts";

function filled(): SmmuCaches {
  const c = smmuCachesCreate();
  for (const sid of [0x10, 0x20, 0x1000]) c.ste.set(sid, { sid, ste: [1n], filled: 0 });
  for (const [sid, ssid] of [[0x10, 0], [0x10, 3], [0x20, 0]]) {
    c.cd.set(cdKey(sid, ssid), { sid, ssid, cd: [1n << 31n], table: 0x1000n, filled: 0 });
  }
  return c;
}

// CMD_CFGI_* scopes (Arm IHI 0070 ch.4; smmuv3.md §1.1): one STE, one CD, every CD of a
// StreamID, everything, or the STEs of a StreamID range.
const ROWS: readonly { cmd: Cmd; ste: number[]; cd: string[] }[] = [
  {
    cmd: makeCmd("CFGI_STE", { sid: 0x10, leaf: true }),
    ste: [0x20, 0x1000],
    cd: ["16:0", "16:3", "32:0"],
  },
  {
    cmd: makeCmd("CFGI_CD", { sid: 0x10, ssid: 3, leaf: true }),
    ste: [0x10, 0x20, 0x1000],
    cd: ["16:0", "32:0"],
  },
  { cmd: makeCmd("CFGI_CD_ALL", { sid: 0x10 }), ste: [0x10, 0x20, 0x1000], cd: ["32:0"] },
  { cmd: makeCmd("CFGI_ALL"), ste: [], cd: [] },
  { cmd: makeCmd("CFGI_ALL", { range: 5 }), ste: [0x1000], cd: ["16:0", "16:3", "32:0"] },
  { cmd: makeCmd("TLBI_NH_ALL"), ste: [0x10, 0x20, 0x1000], cd: ["16:0", "16:3", "32:0"] },
];

Deno.test("cfgiExecute() drops what each CFGI names", async (t) => {
  for (const row of ROWS) {
    await t.step(
      `${row.cmd.op} ${JSON.stringify(row.cmd, (_, v) => typeof v === "bigint" ? String(v) : v)}`,
      () => {
        const c = filled();
        cfgiExecute(c, row.cmd);
        assert.deepEqual([...c.ste.keys()], row.ste);
        assert.deepEqual([...c.cd.keys()], row.cd);
      },
    );
  }
});

Deno.test("smmuTag() keys tags by every field; smmuCachesEmpty() sees any entry", () => {
  const a = smmuTag({ regime: "el1", stage: "s1", vmid: 0, asid: 1 });
  const b = smmuTag({ regime: "el2", stage: "s1", vmid: 0, asid: 1 });
  assert.notEqual(a.key, b.key);
  assert.equal(a.key, smmuTag({ regime: "el1", stage: "s1", vmid: 0, asid: 1 }).key);
  const c = smmuCachesCreate();
  assert.equal(smmuCachesEmpty(c), true);
  c.ste.set(1, { sid: 1, ste: [1n], filled: 0 });
  assert.equal(smmuCachesEmpty(c), false);
});
