import assert from "node:assert/strict";
import { type SmmuCaches, smmuCachesCreate, smmuTag } from "../../../../lib/hw/smmuv3/caches.ts";
import { type Cmd, makeCmd, parseCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import { tlbiExecute, tlbiRange, type TlbiVaCmd } from "../../../../lib/hw/smmuv3/tlbi_exec.ts";
import { tlbInsert } from "../../../../lib/hw/tlb.ts";

// Range decoding (smmuv3.md §11.1): pages = (NUM + 1) << SCALE granules of 2·TG + 10 bits from
// ADDR; TG 0 names one address. Rows: the §2.3 worked examples, read back.
const RANGES: readonly { cmd: string; start: bigint; end: bigint; ttl: number }[] = [
  {
    cmd: "TLBI_NH_VA asid=5 addr=0x40000 ttl=3 tg=4K leaf",
    start: 0x40000n,
    end: 0x41000n,
    ttl: 3,
  },
  {
    cmd: "TLBI_NH_VA asid=5 addr=0x40000 num=2 ttl=3 tg=4K leaf",
    start: 0x40000n,
    end: 0x43000n,
    ttl: 3,
  },
  {
    cmd: "TLBI_NH_VA asid=5 addr=0x1f000 num=30 scale=5 ttl=3 tg=4K",
    start: 0x1f000n,
    end: 0x3ff000n,
    ttl: 3,
  },
  {
    cmd: "TLBI_NH_VA asid=5 addr=0x4000000 scale=11 ttl=2 tg=16K",
    start: 0x4000000n,
    end: 0x6000000n,
    ttl: 2,
  },
  {
    cmd: "TLBI_S2_IPA vmid=3 addr=0x100000 num=2 ttl=3 tg=64K",
    start: 0x100000n,
    end: 0x130000n,
    ttl: 3,
  },
  { cmd: "TLBI_NH_VA asid=5 addr=0x41000 ttl=3 leaf", start: 0x41000n, end: 0x41001n, ttl: 0 },
];

Deno.test("tlbiRange() decodes TG/NUM/SCALE, and TG 0 as one address", async (t) => {
  for (const r of RANGES) {
    await t.step(r.cmd, () => {
      const got = tlbiRange(parseCmd(r.cmd) as TlbiVaCmd);
      assert.deepEqual(got, { start: r.start, end: r.end, ttl: r.ttl });
    });
  }
});

// The caches every row starts from: 4K leaves at 0x40000 and one level-2 table descriptor
// over [0, 2M) in each context.
const CTX = {
  s1: smmuTag({ regime: "el1", stage: "s1", vmid: 0, asid: 1 }),
  s1b: smmuTag({ regime: "el1", stage: "s1", vmid: 0, asid: 2 }),
  s2: smmuTag({ regime: "el1", stage: "s2", vmid: 3, asid: 0 }),
  el2: smmuTag({ regime: "el2", stage: "s1", vmid: 0, asid: 1 }),
};
type Ctx = keyof typeof CTX;

function caches(): SmmuCaches {
  const c = smmuCachesCreate();
  for (const tag of Object.values(CTX)) {
    const base = { tag, prot: 3, root: 0x1000n, filled: 0 };
    tlbInsert(c.iotlb, { ...base, iova: 0x40000n, size: 0x1000n, level: 3, out: 0x80040000n });
    tlbInsert(c.walk, { ...base, iova: 0x0n, size: 0x200000n, level: 2, out: 0x9000n, prot: 0 });
  }
  return c;
}

const has = (c: SmmuCaches, which: "iotlb" | "walk") =>
  (Object.keys(CTX) as Ctx[]).filter((k) => c[which].entries.some((e) => e.tag === CTX[k]));

// Scopes of smmuv3.md §11.2, and the LEAF / TTL promises of §11.1 taken at their word.
const SCOPES: readonly { cmd: Cmd; iotlb: Ctx[]; walk: Ctx[]; why: string }[] = [
  {
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, addr: 0x40000n, leaf: true }),
    iotlb: ["s1b", "s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_VA leaf: that ASID's leaf; table descriptors stay",
  },
  {
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, addr: 0x40000n }),
    iotlb: ["s1b", "s2", "el2"],
    walk: ["s1b", "s2", "el2"],
    why: "NH_VA non-leaf: the walk entry covering the address too",
  },
  {
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, vmid: 1, addr: 0x40000n }),
    iotlb: ["s1", "s1b", "s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_VA of another VMID",
  },
  {
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, addr: 0x41000n, tg: 1, ttl: 3, leaf: true }),
    iotlb: ["s1", "s1b", "s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_VA range missing the page",
  },
  {
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, addr: 0x40000n, tg: 1, ttl: 2, leaf: true }),
    iotlb: ["s1", "s1b", "s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_VA with TTL 2: a level-3 leaf may survive",
  },
  {
    cmd: makeCmd("TLBI_NH_VAA", { addr: 0x40000n, leaf: true }),
    iotlb: ["s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_VAA: every ASID of the VMID",
  },
  {
    cmd: makeCmd("TLBI_NH_ASID", { asid: 2 }),
    iotlb: ["s1", "s2", "el2"],
    walk: ["s1", "s2", "el2"],
    why: "NH_ASID: the whole ASID, walk cache included",
  },
  {
    cmd: makeCmd("TLBI_NH_ALL", { vmid: 0 }),
    iotlb: ["s2", "el2"],
    walk: ["s2", "el2"],
    why: "NH_ALL: stage-1 entries of VMID 0, not stage 2, not EL2",
  },
  {
    cmd: makeCmd("TLBI_NH_ALL", { vmid: 3 }),
    iotlb: ["s1", "s1b", "s2", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "NH_ALL never reaches stage-2-only entries",
  },
  {
    cmd: makeCmd("TLBI_S2_IPA", { vmid: 3, addr: 0x40000n, leaf: true }),
    iotlb: ["s1", "s1b", "el2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "S2_IPA: stage-2 entries of the VMID",
  },
  {
    cmd: makeCmd("TLBI_S12_VMALL", { vmid: 3 }),
    iotlb: ["s1", "s1b", "el2"],
    walk: ["s1", "s1b", "el2"],
    why: "S12_VMALL: everything of the VMID",
  },
  {
    cmd: makeCmd("TLBI_EL2_VA", { asid: 1, addr: 0x40000n, leaf: true }),
    iotlb: ["s1", "s1b", "s2"],
    walk: ["s1", "s1b", "s2", "el2"],
    why: "EL2_VA: the EL2 regime only",
  },
  {
    cmd: makeCmd("TLBI_EL2_ASID", { asid: 1 }),
    iotlb: ["s1", "s1b", "s2"],
    walk: ["s1", "s1b", "s2"],
    why: "EL2_ASID",
  },
  {
    cmd: makeCmd("TLBI_EL2_ALL"),
    iotlb: ["s1", "s1b", "s2"],
    walk: ["s1", "s1b", "s2"],
    why: "EL2_ALL",
  },
  {
    cmd: makeCmd("TLBI_NSNH_ALL"),
    iotlb: ["el2"],
    walk: ["el2"],
    why: "NSNH_ALL: every NS-EL1 entry",
  },
];

Deno.test("tlbiExecute() removes what each TLBI's scope covers", async (t) => {
  for (const row of SCOPES) {
    await t.step(row.why, () => {
      const c = caches();
      assert.equal(tlbiExecute(c, row.cmd), true);
      assert.deepEqual(has(c, "iotlb"), row.iotlb);
      assert.deepEqual(has(c, "walk"), row.walk);
    });
  }
});

Deno.test("tlbiExecute() ignores commands that are not TLBIs", () => {
  const c = caches();
  assert.equal(tlbiExecute(c, makeCmd("ATC_INV", { sid: 0x10, size: 52 })), false);
  assert.equal(tlbiExecute(c, makeCmd("CFGI_ALL")), false);
  assert.equal(c.iotlb.entries.length, 4);
});
