// Tests of lib/tlbi/pkvm.ts: the pKVM hypervisor as a second caller of the arm-smmu-v3
// invalidation walk (seed 002; vtd-sva-pkvm.md §F.4, §F.7). The central property: for the
// same range, the hypervisor's description and the driver's own entry points produce
// identical commands.
import assert from "node:assert/strict";
import fc from "fast-check";
import { type EventLog, eventLogCreate } from "../../../lib/events.ts";
import { type Cmd, formatCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate, type SmmuFeature } from "../../../lib/hw/smmuv3/smmu.ts";
import {
  armSmmuDeviceAdd,
  armSmmuDriverCreate,
  domainAllocPaging,
  iommuAttachDevice,
  iotlbSync,
  isErr,
  masterProbe,
  type SmmuDomain,
  tlbInvWalk,
} from "../../../lib/drivers/arm-smmu-v3/mod.ts";
import {
  pkvmCreate,
  type PkvmHyp,
  pkvmInvsBuild,
  pkvmMap,
  pkvmTlbiInv,
  pkvmUnmap,
} from "../../../lib/tlbi/pkvm.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";

function cmds(log: EventLog): string[] {
  const out = log.events.flatMap((e) =>
    e.kind === "cmd" ? [`${e.queue}: ${formatCmd(e.cmd as Cmd)}`] : []
  );
  log.events.length = 0;
  return out;
}

const SIZES = [0x1000n, 0x200000n, 0x40000000n];

type Driver = Parameters<typeof iotlbSync>[0];

// The kernel driver's side: an S2 domain with VMID 5 on smmu0, one non-ATS master attached.
// `run` returns the commands the callback made the driver emit.
function driverSide(features: SmmuFeature[]) {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features });
  const drv = armSmmuDriverCreate(log);
  armSmmuDeviceAdd(drv, smmu);
  const m = masterProbe(drv, { name: "m", smmu, sids: [0x10] });
  const d = domainAllocPaging(drv, { name: "s2", stage: "s2", smmu, id: 5 });
  assert.ok(!isErr(m) && !isErr(d));
  assert.equal(iommuAttachDevice(drv, m, { domain: d }), 0);
  cmds(log);
  return (f: (drv: Driver, d: SmmuDomain) => void): string[] => {
    f(drv, d);
    return cmds(log);
  };
}

function hypSide(features: SmmuFeature[]): PkvmHyp {
  const log = eventLogCreate();
  return pkvmCreate(log, { smmus: [smmuCreate("smmu0", log, { features })], vmid: 5 });
}

Deno.test("pkvmInvsBuild() builds one sorted S2_VMID entry per SMMU, no ATS", () => {
  const log = eventLogCreate();
  const a = smmuCreate("a", log, { features: ["range_inv"], sortKey: 1 });
  const b = smmuCreate("b", log, { features: [], sortKey: 0 });
  const invs = pkvmInvsBuild([a, b], { vmid: 7, pgShift: 12, log });
  assert.deepEqual(
    invs.inv.map((e) => [e.smmu.name, e.type, e.id, e.pgsize, e.users, e.sizeOpcode]),
    [["b", "S2_VMID", 7, 0, 1, "TLBI_S2_IPA"], ["a", "S2_VMID", 7, 12, 1, "TLBI_S2_IPA"]],
  );
  assert.equal(invs.hasAts, false);
});

Deno.test("pkvmTlbiInv() and the driver's own paths emit identical commands", async (t) => {
  for (const features of [["range_inv"], []] as SmmuFeature[][]) {
    const ril = features.length > 0;
    await t.step(`leaf ranges, ${ril ? "RIL" : "no RIL"}`, () => {
      const drv = driverSide(features);
      const hyp = hypSide(features);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 0, max: 1 << 12 }),
          fc.integer({ min: 1, max: ril ? 3000 : 600 }),
          (level, first, count) => {
            const sz = SIZES[level];
            const start = 0x1_0000_0000n + BigInt(first) * sz;
            const end = start + BigInt(count) * sz - 1n;
            // iommu_iotlb_sync() with a gather of `count` pages of size `sz`.
            const want = drv((k, d) => iotlbSync(k, d, { start, end, pgsize: sz }));
            pkvmTlbiInv(hyp, {
              start,
              last: end,
              leafLevelsBitmap: 1 << level,
              tableLevelsBitmap: 0,
            });
            assert.deepEqual(cmds(hyp.log), want);
          },
        ),
        PROPERTY_SETTINGS,
      );
    });
    await t.step(`tables removed, ${ril ? "RIL" : "no RIL"}`, () => {
      const drv = driverSide(features);
      const hyp = hypSide(features);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1 << 12 }),
          fc.integer({ min: 1, max: 64 }),
          (first, n) => {
            const start = 0x1_0000_0000n + BigInt(first) * SIZES[1];
            const size = BigInt(n) * SIZES[1];
            // io-pgtable-arm's tlb_flush_walk(iova, size, ARM_LPAE_GRANULE) for freed tables.
            const want = drv((k, d) => tlbInvWalk(k, d, { iova: start, size, granule: 0x1000n }));
            pkvmTlbiInv(hyp, {
              start,
              last: start + size - 1n,
              leafLevelsBitmap: 1,
              tableLevelsBitmap: 2,
            });
            assert.deepEqual(cmds(hyp.log), want);
          },
        ),
        PROPERTY_SETTINGS,
      );
    });
  }
});

type Change = { readonly op: "map" | "unmap"; readonly iova: bigint; readonly size: bigint };

// One row per change, in order, on one hypervisor driving smmu0 (RIL) and smmu1 (no RIL);
// `pre` changes are made first and their commands ignored. One batch per SMMU (the next
// entry is on another SMMU), each with its SYNC.
const CHANGES: readonly {
  readonly name: string;
  readonly pre?: readonly Change[];
  readonly change: Change;
  readonly want: readonly string[];
}[] = [
  {
    name: "a new mapping needs no invalidation",
    change: { op: "map", iova: 0x80000000n, size: 0x200000n },
    want: [],
  },
  {
    // 512 pages = NUM 0 SCALE 9 with RIL; one command per 2M granule without.
    name: "a 2M block: leaf level 1, TTL 2 (§F.2 one-block example)",
    change: { op: "unmap", iova: 0x80000000n, size: 0x200000n },
    want: [
      "smmu0: TLBI_S2_IPA addr=0x80000000 scale=9 ttl=2 tg=4K leaf",
      "smmu0: CMD_SYNC",
      "smmu1: TLBI_S2_IPA addr=0x80000000 leaf",
      "smmu1: CMD_SYNC",
    ],
  },
  {
    name: "a 4K page: leaf level 0, TTL 3",
    pre: [{ op: "map", iova: 0x80000000n, size: 0x2000n }],
    change: { op: "unmap", iova: 0x80000000n, size: 0x1000n },
    want: [
      "smmu0: TLBI_S2_IPA addr=0x80000000 ttl=3 tg=4K leaf",
      "smmu0: CMD_SYNC",
      "smmu1: TLBI_S2_IPA addr=0x80000000 leaf",
      "smmu1: CMD_SYNC",
    ],
  },
  {
    // The level-3 table under 0x80000000 filled with 4K pages (0x80001000 is still mapped),
    // then unmapped whole. §F.6 would hint TTL 3 with LEAF 0; the mainline walk sends the
    // non-leaf form of the smallest page (TTL 0), as for io-pgtable-arm's tlb_flush_walk():
    // 512 pages = NUM 0 SCALE 9 on smmu0; on smmu1 2M ≥ 512 × 4K is too big: S12_VMALL.
    name: "a whole table of pages: levels {0} + table {1}, non-leaf",
    pre: [
      { op: "map", iova: 0x80000000n, size: 0x1000n },
      { op: "map", iova: 0x80002000n, size: 0x1fe000n },
    ],
    change: { op: "unmap", iova: 0x80000000n, size: 0x200000n },
    want: [
      "smmu0: TLBI_S2_IPA addr=0x80000000 scale=9 tg=4K",
      "smmu0: CMD_SYNC",
      "smmu1: TLBI_S12_VMALL",
      "smmu1: CMD_SYNC",
    ],
  },
  {
    name: "a block replacing an empty table: table level {1} only",
    pre: [
      { op: "map", iova: 0x80400000n, size: 0x1000n },
      { op: "unmap", iova: 0x80400000n, size: 0x1000n },
    ],
    change: { op: "map", iova: 0x80400000n, size: 0x200000n },
    want: [
      "smmu0: TLBI_S2_IPA addr=0x80400000 scale=9 tg=4K",
      "smmu0: CMD_SYNC",
      "smmu1: TLBI_S12_VMALL",
      "smmu1: CMD_SYNC",
    ],
  },
];

function apply(hyp: PkvmHyp, c: Change): bigint {
  const r = { iova: c.iova, size: c.size };
  return c.op === "map" ? pkvmMap(hyp, r).mapped : pkvmUnmap(hyp, r);
}

Deno.test("pkvmMap() / pkvmUnmap() invalidate what their walk removed, once per call", async (t) => {
  const log = eventLogCreate();
  const s0 = smmuCreate("smmu0", log, { features: ["range_inv"], sortKey: 0 });
  const s1 = smmuCreate("smmu1", log, { features: [], sortKey: 1 });
  const hyp = pkvmCreate(log, { smmus: [s0, s1], vmid: 0 });
  for (const row of CHANGES) {
    await t.step(row.name, () => {
      for (const c of row.pre ?? []) apply(hyp, c);
      cmds(log);
      assert.equal(apply(hyp, row.change), row.change.size);
      assert.deepEqual(cmds(log), row.want);
    });
  }
});
