import assert from "node:assert/strict";
import fc from "fast-check";
import { eventLogCreate } from "../../../lib/events.ts";
import { type Cmd, type CmdFor, makeCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { cmdqBatchInit, cmdqBatchSubmit } from "../../../lib/hw/smmuv3/cmdq.ts";
import { smmuCreate } from "../../../lib/hw/smmuv3/smmu.ts";
import { cmdqBatchAddRange, type TlbiRangeCmd } from "../../../lib/tlbi/range.ts";
import { PROPERTY_SETTINGS } from "../../arbitraries.ts";

type Fields = { addr: bigint; num?: number; scale?: number; ttl?: number; tg?: number };

function build(
  ril: boolean,
  cmd: TlbiRangeCmd,
  a: { iova: bigint; size: bigint; granule: bigint; pgsize: number },
): Cmd[] {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ril ? ["range_inv"] : [] });
  const batch = cmdqBatchInit(smmu);
  cmdqBatchAddRange(batch, { cmd, ...a });
  cmdqBatchSubmit(batch);
  const cmds = log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd as unknown as Cmd] : []);
  assert.equal(cmds.at(-1)?.op, "CMD_SYNC");
  return cmds.slice(0, -1);
}

const nhva = (leaf: boolean) => makeCmd("TLBI_NH_VA", { asid: 5, leaf });
const K4 = 0x1000n;
const M2 = 0x200000n;

// smmuv3.md §2.3: every worked example (4K leaf pages, ASID 5, VMID 0, NH_VA unless named).
const ROWS: readonly {
  name: string;
  ril: boolean;
  cmd: TlbiRangeCmd;
  iova: bigint;
  size: bigint;
  granule: bigint;
  pgsize?: number;
  want: Fields[];
}[] = [
  {
    name: "1 page",
    ril: true,
    cmd: nhva(true),
    iova: 0x40000n,
    size: 0x1000n,
    granule: K4,
    want: [{ addr: 0x40000n, ttl: 3, tg: 1 }],
  },
  {
    name: "2 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x40000n,
    size: 0x2000n,
    granule: K4,
    want: [{ addr: 0x40000n, scale: 1, ttl: 3, tg: 1 }],
  },
  {
    name: "3 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x40000n,
    size: 0x3000n,
    granule: K4,
    want: [{ addr: 0x40000n, num: 2, ttl: 3, tg: 1 }],
  },
  {
    name: "one 2M block",
    ril: true,
    cmd: nhva(true),
    iova: 0x200000n,
    size: M2,
    granule: M2,
    want: [{ addr: 0x200000n, scale: 9, ttl: 2, tg: 1 }],
  },
  {
    name: "two 2M blocks",
    ril: true,
    cmd: nhva(true),
    iova: 0x40000000n,
    size: 0x400000n,
    granule: M2,
    want: [{ addr: 0x40000000n, scale: 10, ttl: 2, tg: 1 }],
  },
  {
    name: "33 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x100000n,
    size: 0x21000n,
    granule: K4,
    want: [{ addr: 0x100000n, ttl: 3, tg: 1 }, { addr: 0x101000n, scale: 5, ttl: 3, tg: 1 }],
  },
  {
    name: "291 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x10000000n,
    size: 0x123000n,
    granule: K4,
    want: [{ addr: 0x10000000n, num: 2, ttl: 3, tg: 1 }, {
      addr: 0x10003000n,
      num: 8,
      scale: 5,
      ttl: 3,
      tg: 1,
    }],
  },
  {
    name: "2047 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0n,
    size: 0x7ff000n,
    granule: K4,
    want: [
      { addr: 0n, num: 30, ttl: 3, tg: 1 },
      { addr: 0x1f000n, num: 30, scale: 5, ttl: 3, tg: 1 },
      { addr: 0x3ff000n, scale: 10, ttl: 3, tg: 1 },
    ],
  },
  {
    name: "0x12345 pages",
    ril: true,
    cmd: nhva(true),
    iova: 0n,
    size: 0x12345000n,
    granule: K4,
    want: [
      { addr: 0n, num: 4, ttl: 3, tg: 1 },
      { addr: 0x5000n, num: 12, scale: 6, ttl: 3, tg: 1 },
      { addr: 0x345000n, num: 8, scale: 13, ttl: 3, tg: 1 },
    ],
  },
  {
    name: "1 GiB of 4K pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x80000000n,
    size: 0x40000000n,
    granule: K4,
    want: [{ addr: 0x80000000n, scale: 18, ttl: 3, tg: 1 }],
  },
  {
    name: "non-leaf 1 page bumps to 2",
    ril: true,
    cmd: nhva(false),
    iova: 0x40000n,
    size: 0x1000n,
    granule: K4,
    want: [{ addr: 0x40000n, scale: 1, tg: 1 }],
  },
  {
    name: "non-leaf 33 pages bumps to 34",
    ril: true,
    cmd: nhva(false),
    iova: 0x40000n,
    size: 0x21000n,
    granule: K4,
    want: [{ addr: 0x40000n, num: 16, scale: 1, tg: 1 }],
  },
  {
    name: "non-leaf 3 pages",
    ril: true,
    cmd: nhva(false),
    iova: 0x40000n,
    size: 0x3000n,
    granule: K4,
    want: [{ addr: 0x40000n, num: 2, tg: 1 }],
  },
  {
    name: "64K pages",
    ril: true,
    cmd: nhva(true),
    iova: 0x100000n,
    size: 0x30000n,
    granule: 0x10000n,
    pgsize: 16,
    want: [{ addr: 0x100000n, num: 2, ttl: 3, tg: 3 }],
  },
  {
    name: "16K pages, one 32M block",
    ril: true,
    cmd: nhva(true),
    iova: 0x4000000n,
    size: 0x2000000n,
    granule: 0x2000000n,
    pgsize: 14,
    want: [{ addr: 0x4000000n, scale: 11, ttl: 2, tg: 2 }],
  },
  {
    name: "S2_IPA vmid 3",
    ril: true,
    cmd: makeCmd("TLBI_S2_IPA", { vmid: 3, leaf: true }),
    iova: 0x80000000n,
    size: 0x2000n,
    granule: K4,
    want: [{ addr: 0x80000000n, scale: 1, ttl: 3, tg: 1 }],
  },
  {
    name: "no RIL, 3 pages",
    ril: false,
    cmd: nhva(true),
    iova: 0x40000n,
    size: 0x3000n,
    granule: K4,
    want: [{ addr: 0x40000n }, { addr: 0x41000n }, { addr: 0x42000n }],
  },
  {
    name: "no RIL, two 2M blocks",
    ril: false,
    cmd: nhva(true),
    iova: 0x40000000n,
    size: 0x400000n,
    granule: M2,
    want: [{ addr: 0x40000000n }, { addr: 0x40200000n }],
  },
];

Deno.test("cmdqBatchAddRange() reproduces every §2.3 worked example", async (t) => {
  for (const r of ROWS) {
    await t.step(r.name, () => {
      const got = build(r.ril, r.cmd, {
        iova: r.iova,
        size: r.size,
        granule: r.granule,
        pgsize: r.ril ? r.pgsize ?? 12 : 0,
      });
      const want = r.want.map((w) => ({ ...r.cmd, num: 0, scale: 0, ttl: 0, tg: 0, ...w }));
      assert.deepEqual(got, want);
    });
  }
});

Deno.test("cmdqBatchAddRange() TTL follows the §2.1 table", () => {
  const cases: [number, bigint, number][] = [
    [12, 0x1000n, 3],
    [12, 0x200000n, 2],
    [12, 0x40000000n, 1],
    [14, 0x4000n, 3],
    [14, 0x2000000n, 2],
    [16, 0x10000n, 3],
    [16, 0x20000000n, 2],
  ];
  for (const [pgsize, granule, ttl] of cases) {
    const [c] = build(true, nhva(true), { iova: 0n, size: granule, granule, pgsize }) as CmdFor<
      "TLBI_NH_VA"
    >[];
    assert.equal(c.ttl, ttl, `pgsize ${pgsize} granule ${granule}`);
  }
});

Deno.test("cmdqBatchAddRange() WARNs on size 0 and adds nothing", () => {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ["range_inv"] });
  const batch = cmdqBatchInit(smmu);
  cmdqBatchAddRange(batch, { cmd: nhva(true), iova: 0n, size: 0n, granule: K4, pgsize: 12 });
  assert.equal(batch.num, 0);
  assert.deepEqual(log.events, [{
    kind: "warn",
    fn: "arm_smmu_cmdq_batch_add_range",
    what: "WARN_ON_ONCE(!size)",
  }]);
});

/** Bytes covered by a range command as the hardware decodes it (smmuv3.md §11.1). */
function covered(c: CmdFor<"TLBI_NH_VA">, pgsize: number): [bigint, bigint] {
  if (c.tg === 0) return [c.addr, c.addr + (1n << BigInt(pgsize))];
  const shift = BigInt(2 * c.tg + 10);
  const pages = BigInt(c.num + 1) << BigInt(c.scale);
  return [c.addr, c.addr + (pages << shift)];
}

Deno.test("range commands cover exactly [iova, iova+size), never more than the kernel does", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(12, 14, 16),
      fc.bigInt({ min: 0n, max: (1n << 36n) - 1n }),
      fc.bigInt({ min: 1n, max: 1n << 24n }),
      fc.boolean(),
      fc.boolean(),
      (pgsize, pageIdx, pages, leaf, ril) => {
        const pg = 1n << BigInt(pgsize);
        // Without RIL the driver falls back to the nsize command at 512+ pages anyway.
        if (!ril) pages = pages % 600n + 1n;
        const iova = pageIdx * pg;
        const size = pages * pg;
        const granule = pg;
        const cmds = build(ril, nhva(leaf), {
          iova,
          size,
          granule,
          pgsize: ril ? pgsize : 0,
        }) as CmdFor<
          "TLBI_NH_VA"
        >[];
        let at = iova;
        for (const c of cmds) {
          const [lo, hi] = covered(c, pgsize);
          assert.equal(lo, at, "commands are contiguous and ascending");
          at = hi;
          assert.equal(c.leaf, leaf);
        }
        // Leaf or no RIL: exact. Non-leaf with RIL: one extra page when the low 5 bits are 1.
        const extra = ril && !leaf && (pages & 31n) === 1n ? pg : 0n;
        assert.equal(at, iova + size + extra);
        if (ril) assert.ok(cmds.length <= 11, `${cmds.length} commands`);
      },
    ),
    PROPERTY_SETTINGS,
  );
});
