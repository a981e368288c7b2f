// Tests of lib/tlbi/domain_tlbi.ts: the level-bitmap description of seed 002 and its TTL /
// LEAF rules (armv8_compute_ttl() of the generic_pt kunit model, vtd-sva-pkvm.md §F.6).
import assert from "node:assert/strict";
import { eventLogCreate } from "../../../lib/events.ts";
import { type Cmd, formatCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate } from "../../../lib/hw/smmuv3/smmu.ts";
import { invMake, invsAlloc, invsMerge } from "../../../lib/drivers/arm-smmu-v3/invs.ts";
import { isErr } from "../../../lib/errno.ts";
import {
  type ArmSmmuTlbi,
  armv8ComputeTtl,
  domainTlbiInv,
  tlbiInvRange,
} from "../../../lib/tlbi/domain_tlbi.ts";

function tlbi(leaf: number[], table: number[] = []): ArmSmmuTlbi {
  const bm = (l: number[]) => l.reduce((a, x) => a | (1 << x), 0);
  return {
    start: 0x80000000n,
    last: 0x801fffffn,
    leafLevelsBitmap: bm(leaf),
    tableLevelsBitmap: bm(table),
  };
}

// §F.6 examples, checked against armv8_compute_ttl() in kunit_iommu_iotlb.h. The reference's
// "16K granule table-only {2} → 0" disagrees with that code (level 2 + 1 = TTL 2; only TTL 1,
// from a table at level 3, is avoided with 16K), so the rows follow the code.
const TTL_ROWS: readonly {
  leaf: number[];
  table: number[];
  tg: number;
  ttl: number;
  src: string;
}[] = [
  { leaf: [0], table: [], tg: 12, ttl: 3, src: "§F.6: leaf {0} → TTL 3" },
  { leaf: [1], table: [], tg: 12, ttl: 2, src: "§F.6: leaf {1} (2M blocks) → TTL 2" },
  { leaf: [2], table: [], tg: 12, ttl: 1, src: "1G blocks: ARM level 1" },
  { leaf: [3], table: [], tg: 12, ttl: 0, src: "ARM level 0 cannot be hinted" },
  { leaf: [0, 1], table: [], tg: 12, ttl: 0, src: "§F.6: leaf {0,1} → 0" },
  { leaf: [0], table: [1], tg: 12, ttl: 3, src: "§F.6: leaf {0} + table {1} → TTL 3" },
  { leaf: [1], table: [1], tg: 12, ttl: 0, src: "§F.6: leaf {1} + table {1} → 0" },
  { leaf: [], table: [1], tg: 12, ttl: 3, src: "§F.6: table-only {1} → TTL 3" },
  { leaf: [], table: [3], tg: 12, ttl: 1, src: "§F.6: table-only {3} → TTL 1" },
  { leaf: [], table: [3], tg: 14, ttl: 0, src: "kunit code: 16K TTL 1 reserved without DS" },
  { leaf: [], table: [2], tg: 14, ttl: 2, src: "kunit code: 16K table {2} → TTL 2" },
];

Deno.test("armv8ComputeTtl() follows the kunit model's TTL rules", async (t) => {
  for (const r of TTL_ROWS) {
    await t.step(r.src, () => {
      const log = eventLogCreate();
      assert.equal(armv8ComputeTtl(tlbi(r.leaf, r.table), { tg: r.tg, log }), r.ttl);
      assert.deepEqual(log.events, []);
    });
  }
});

Deno.test("armv8ComputeTtl() WARNs for no level and for a leaf above ARM level 0", () => {
  const log = eventLogCreate();
  assert.equal(armv8ComputeTtl(tlbi([]), { tg: 12, log }), 0);
  assert.equal(armv8ComputeTtl(tlbi([4]), { tg: 12, log }), 0);
  assert.deepEqual(log.events.map((e) => e.kind === "warn" && e.what), [
    "WARN_ON: no level at all",
    "WARN_ON(ttl < 0)",
  ]);
});

// The walk's arguments: a leaf invalidation whose granule gives the hint (TTL 3 ↔ 4K, 2 ↔
// 2M, 1 ↔ 1G with 4K pages; 2 ↔ 32M with 16K), otherwise non-leaf of the smallest page.
const RANGE_ROWS: readonly {
  name: string;
  t: ArmSmmuTlbi;
  pgShift: number;
  granule: bigint;
  leaf: boolean;
}[] = [
  { name: "4K leaves", t: tlbi([0]), pgShift: 12, granule: 0x1000n, leaf: true },
  { name: "2M blocks", t: tlbi([1]), pgShift: 12, granule: 0x200000n, leaf: true },
  { name: "1G blocks", t: tlbi([2]), pgShift: 12, granule: 0x40000000n, leaf: true },
  { name: "16K: 32M blocks", t: tlbi([1]), pgShift: 14, granule: 0x2000000n, leaf: true },
  { name: "several leaf levels", t: tlbi([0, 1]), pgShift: 12, granule: 0x1000n, leaf: false },
  { name: "a table removed", t: tlbi([0], [1]), pgShift: 12, granule: 0x1000n, leaf: false },
  { name: "64K: table only", t: tlbi([], [1]), pgShift: 16, granule: 0x10000n, leaf: false },
];

Deno.test("tlbiInvRange() maps a description onto the walk's arguments", async (t) => {
  for (const r of RANGE_ROWS) {
    await t.step(r.name, () => {
      const got = tlbiInvRange(r.t, { pgShift: r.pgShift, log: eventLogCreate() });
      assert.equal(got.iova, 0x80000000n);
      assert.equal(got.size, 0x200000n, "last is inclusive");
      assert.equal(got.granule, r.granule);
      assert.equal(got.leaf, r.leaf);
    });
  }
  const all = { start: 0n, last: (1n << 64n) - 1n, leafLevelsBitmap: 1, tableLevelsBitmap: 0 };
  assert.equal(tlbiInvRange(all, { pgShift: 12, log: eventLogCreate() }).size, 0n, "everything");
});

Deno.test("domainTlbiInv() drives the driver's walk over the given array", () => {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ["range_inv"] });
  const e = invMake(smmu, { type: "S2_VMID", id: 3, pgsize: 12 });
  const invs = invsMerge(invsAlloc(0), {
    maxInvs: 1,
    numInvs: 1,
    numTrashes: 0,
    hasAts: false,
    inv: [e],
  }, {
    log,
  });
  assert.ok(!isErr(invs));
  domainTlbiInv({ log, variant: "mainline" }, { tlbi: tlbi([1]), invs, pgShift: 12 });
  const cmds = log.events.flatMap((x) => x.kind === "cmd" ? [formatCmd(x.cmd as Cmd)] : []);
  // One 2M block as S2_IPA with RIL: 512 pages = NUM 0 SCALE 9, TTL 2 (§F.2 example), LEAF.
  assert.deepEqual(cmds, [
    "TLBI_S2_IPA vmid=3 addr=0x80000000 scale=9 ttl=2 tg=4K leaf",
    "CMD_SYNC",
  ]);
});
