import assert from "node:assert/strict";
import fc from "fast-check";
import { eventLogCreate } from "../../../../lib/events.ts";
import {
  vsmmuCmdOf,
  vsmmuValidateRange,
  vsmmuValidateUserCmd,
} from "../../../../lib/drivers/arm-smmu-v3/vsmmu.ts";
import { encodeCmd, formatCmd, makeCmd } from "../../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate, type SmmuFeature } from "../../../../lib/hw/smmuv3/smmu.ts";
import {
  hwptInvalidate,
  type HwptInvalidateOptions,
  IOMMUFD_VARIANTS,
  type IommufdVariant,
  type Rc,
} from "../../../../lib/iommufd/mod.ts";
import { PROPERTY_SETTINGS } from "../../../arbitraries.ts";
import { armWorld } from "../../iommufd/fixtures.ts";

type Words = readonly [bigint, bigint];

const nhAsid = (asid: number): Words => encodeCmd(makeCmd("TLBI_NH_ASID", { asid }));
const CFGI_STE: Words = encodeCmd(makeCmd("CFGI_STE", { sid: 0x99 }));
const SYNC_OP: Words = [0x46n, 0n];

function invalidate(
  w: ReturnType<typeof armWorld>,
  cmds: readonly Words[],
  opts: HwptInvalidateOptions & { entryNum?: number } = {},
) {
  return hwptInvalidate(w.fd, {
    hwptId: w.viommu,
    entries: cmds.map((cmd) => ({ kind: "arm_smmuv3", cmd })),
    entryNum: opts.entryNum,
  }, opts);
}

const asids = (text: string[]) => text.filter((c) => c !== "CMD_SYNC").length;

// iommufd.md §7.6 worked examples (16-bit ASIDs; RIL, DS, ATS; SSIDs; VMID 5;
// vSID 0x99 → SID 0x1234), each under both forms: [rc, entry_num out, queue].
const E_ROWS: readonly {
  n: string;
  cmds: () => Words[];
  entryNum?: number;
  pre: [Rc, number, string[]];
  post: [Rc, number, string[]];
}[] = [
  {
    n: "E1: a bad opcode after two good ones (bug 1: converted, counted, never issued)",
    cmds: () => [nhAsid(1), nhAsid(2), CFGI_STE],
    pre: ["EIO", 2, []],
    post: ["EIO", 0, []],
  },
  {
    n: "E3: zero-length array (bug 2: the probe is rejected)",
    cmds: () => [],
    pre: ["EINVAL", 0, []],
    post: [0, 0, []],
  },
  {
    n: "E4: NH_ALL with a non-zero word 1",
    cmds: () => [[0x10n, 1n]],
    pre: [0, 1, ["TLBI_NH_ALL vmid=5", "CMD_SYNC"]],
    post: ["EIO", 0, []],
  },
  {
    n: "E5: NSNH_ALL carrying a VMID",
    cmds: () => [[0x30n | (7n << 32n), 0n]],
    pre: [0, 1, ["TLBI_NH_ALL vmid=5", "CMD_SYNC"]],
    post: ["EIO", 0, []],
  },
  {
    n: "E6: ATC_INV for an unregistered vSID",
    cmds: () => [encodeCmd(makeCmd("ATC_INV", { sid: 0x77, size: 1 }))],
    pre: ["EIO", 0, []],
    post: ["EIO", 0, []],
  },
  {
    n: "E7: CFGI_CD gets the physical SID, other bits kept",
    cmds: () => [encodeCmd(makeCmd("CFGI_CD", { sid: 0x99, ssid: 3, leaf: true }))],
    pre: [0, 1, ["CFGI_CD sid=0x1234 ssid=3 leaf", "CMD_SYNC"]],
    post: [0, 1, ["CFGI_CD sid=0x1234 ssid=3 leaf", "CMD_SYNC"]],
  },
  {
    n: "E7: CFGI_CD with SSV set",
    cmds: () => [[encodeCmd(makeCmd("CFGI_CD", { sid: 0x99, ssid: 3 }))[0] | (1n << 11n), 0n]],
    pre: [0, 1, ["CFGI_CD sid=0x1234 ssid=3", "CMD_SYNC"]],
    post: ["EIO", 0, []],
  },
];

for (const r of E_ROWS) {
  Deno.test(`vsmmuCacheInvalidate() ${r.n}`, async (t) => {
    for (const variant of IOMMUFD_VARIANTS) {
      await t.step(variant, () => {
        const w = armWorld();
        const res = invalidate(w, r.cmds(), { variant });
        const want = variant === "driver-loop" ? r.pre : r.post;
        assert.deepEqual([res.rc, res.entryNum, w.text()], want);
      });
    }
  });
}

Deno.test("vsmmuCacheInvalidate() E2: 70 commands, a bad opcode at index 65", async (t) => {
  const cmds = Array.from({ length: 70 }, (_, i) => i === 65 ? SYNC_OP : nhAsid(i + 1));
  // Both forms issue the first batch: 63 TLBIs with VMID 5, then a SYNC.
  const batch0 = [
    ...cmds.slice(0, 63).map((_, i) => `TLBI_NH_ASID asid=${i + 1} vmid=5`),
    "CMD_SYNC",
  ];
  for (
    const [variant, out, calls] of [["driver-loop", 65, [[70, 65]]], ["core-loop", 63, [[70, 63], [
      7,
      0,
    ]]]] as const
  ) {
    await t.step(variant, () => {
      const w = armWorld();
      const res = invalidate(w, cmds, { variant });
      // Pre-series counts 63 and 64 (converted, never issued); post-series stops at 63.
      assert.deepEqual([res.rc, res.entryNum], ["EIO", out]);
      assert.deepEqual(w.text(), batch0);
      assert.deepEqual(res.calls.map((c) => [c.given, c.handled]), calls);
    });
  }
});

Deno.test("vsmmuCacheInvalidate() D5: 130 valid commands, batches of 63 plus SYNC", async (t) => {
  const cmds = Array.from(
    { length: 130 },
    (_, i) => encodeCmd(makeCmd("TLBI_NH_VA", { asid: 1, addr: BigInt(i) << 12n, leaf: true })),
  );
  for (
    const [variant, calls] of [["driver-loop", [[130, 130]]], ["core-loop", [[130, 63], [67, 63], [
      4,
      4,
    ]]]] as const
  ) {
    await t.step(variant, () => {
      const w = armWorld();
      const res = invalidate(w, cmds, { variant });
      assert.deepEqual([res.rc, res.entryNum], [0, 130]);
      assert.deepEqual(res.calls.map((c) => [c.given, c.handled]), calls);
      const text = w.text();
      assert.deepEqual(text.flatMap((c, i) => c === "CMD_SYNC" ? [i] : []), [63, 127, 132]);
      assert.equal(text[0], "TLBI_NH_VA asid=1 vmid=5 leaf");
      assert.equal(text[131], "TLBI_NH_VA asid=1 vmid=5 addr=0x81000 leaf");
    });
  }
});

Deno.test("vsmmuCacheInvalidate() bug 1 per the seed: 10 entries, unknown vSID at 5", async (t) => {
  // smmuv3.md §10.3: pre-series reports 5 with nothing issued; the fix reports 0.
  const cmds = Array.from(
    { length: 10 },
    (_, i) => encodeCmd(makeCmd("ATC_INV", { sid: i === 5 ? 0x77 : 0x99, size: 52 })),
  );
  for (const [variant, out] of [["driver-loop", 5], ["core-loop", 0]] as const) {
    await t.step(variant, () => {
      const w = armWorld();
      const res = invalidate(w, cmds, { variant });
      assert.deepEqual([res.rc, res.entryNum, w.text()], ["EIO", out, []]);
    });
  }
});

Deno.test("vsmmuCacheInvalidate() a failing issue: pre counts all but one command of it", async (t) => {
  // 130 valid commands; the second issue (commands 63..125) times out after reaching the
  // queue. Pre-series steps back one command from the index reached (126 - 1).
  const cmds = Array.from({ length: 130 }, (_, i) => nhAsid(i + 1));
  for (const [variant, out] of [["driver-loop", 125], ["core-loop", 63]] as const) {
    await t.step(variant, () => {
      const w = armWorld();
      const res = invalidate(w, cmds, { variant, cmdqFault: { issue: 1, errno: "ETIMEDOUT" } });
      assert.deepEqual([res.rc, res.entryNum], ["ETIMEDOUT", out]);
      assert.equal(w.text().length, 128);
    });
  }
});

Deno.test("vsmmuCacheInvalidate() pre-series ENOMEM past KMALLOC_MAX_SIZE keeps entry_num", () => {
  const w = armWorld();
  const num = (4 << 20) / 16 + 1;
  const res = invalidate(w, [nhAsid(1)], { variant: "driver-loop", entryNum: num });
  assert.deepEqual([res.rc, res.entryNum, w.text()], ["ENOMEM", num, []]);
});

Deno.test("vsmmuCacheInvalidate() a fault in batch k: pre all-or-nothing, post 63·k", async (t) => {
  // 100 commands, memory ends inside command 70.
  const cmds = Array.from({ length: 100 }, (_, i) => nhAsid(i + 1));
  for (const [variant, out, queued] of [["driver-loop", 0, 0], ["core-loop", 63, 64]] as const) {
    await t.step(variant, () => {
      const w = armWorld();
      const res = hwptInvalidate(w.fd, {
        hwptId: w.viommu,
        entries: cmds.map((cmd) => ({ kind: "arm_smmuv3", cmd })),
        dataFaultAt: 70 * 16 + 8,
      }, { variant });
      assert.deepEqual([res.rc, res.entryNum, w.text().length], ["EFAULT", out, queued]);
    });
  }
});

Deno.test("vsmmuCacheInvalidate() rejects another data type, even for a zero-length array", () => {
  for (const variant of IOMMUFD_VARIANTS) {
    const w = armWorld();
    for (const entryNum of [0, 1]) {
      const res = hwptInvalidate(w.fd, {
        hwptId: w.viommu,
        entries: [{ kind: "arm_smmuv3", cmd: nhAsid(1) }],
        entryNum,
        dataType: 0,
      }, { variant });
      assert.deepEqual([res.rc, res.entryNum], ["EINVAL", 0]);
    }
  }
});

const SMMU = (features: SmmuFeature[], opts: { asidBits?: number; ssidBits?: number } = {}) =>
  smmuCreate("smmu0", eventLogCreate(), { features, ...opts });
const RIL: SmmuFeature[] = ["range_inv", "ats"];
const w0 = (op: number, bits: bigint = 0n) => BigInt(op) | bits;
const TG = (v: bigint) => v << 10n;
const TTL = (v: bigint) => v << 8n;
const NUM = (v: bigint) => v << 12n;
const SCALE = (v: bigint) => v << 20n;

// arm_vsmmu_validate_user_cmd() (iommufd.md §7.3; the post-series file). Hand-built words;
// each row names the rule it checks.
const V_ROWS: readonly [
  string,
  SmmuFeature[],
  { asidBits?: number; ssidBits?: number },
  Words,
  Rc,
][] = [
  ["NH_VA, 8-bit ASIDs, ASID 0xff", [], { asidBits: 8 }, [w0(0x12, 0xffn << 48n), 0n], 0],
  ["NH_VA, 8-bit ASIDs, ASID 0x100", [], { asidBits: 8 }, [w0(0x12, 0x100n << 48n), 0n], "EIO"],
  ["NH_VA, no RIL, TG set", [], {}, [w0(0x12), TG(1n)], "EIO"],
  ["NH_VA, no RIL, leaf and VA", [], {}, [w0(0x12), 0x40001n], 0],
  ["NH_VA, RIL, TG 0 with NUM", RIL, {}, [w0(0x12, NUM(1n)), 0n], "EIO"],
  ["NH_VA, RIL, TG 0 with TTL", RIL, {}, [w0(0x12), TTL(1n)], "EIO"],
  ["NH_VA, RIL, TG 1 with NUM, SCALE, TTL 0 (reserved)", RIL, {}, [w0(0x12), TG(1n)], "EIO"],
  ["NH_VA, RIL, TG 1 TTL 3", RIL, {}, [w0(0x12), TG(1n) | TTL(3n)], 0],
  ["NH_VA, RIL, TG 1 NUM 1", RIL, {}, [w0(0x12, NUM(1n)), TG(1n)], 0],
  ["NH_VA, RIL, 16K TG with TTL 1, no DS", RIL, {}, [w0(0x12), TG(2n) | TTL(1n)], "EIO"],
  ["NH_VA, RIL+DS, 16K TG with TTL 1", [...RIL, "ds"], {}, [w0(0x12), TG(2n) | TTL(1n)], 0],
  ["NH_VA, RIL, SCALE 32 without DS", RIL, {}, [w0(0x12, SCALE(32n)), TG(1n)], "EIO"],
  ["NH_VA, RIL+DS, SCALE 32", [...RIL, "ds"], {}, [w0(0x12, SCALE(32n)), TG(1n)], 0],
  ["NH_VAA with an ASID", [], {}, [w0(0x13, 1n << 48n), 0n], "EIO"],
  ["NH_VAA with a VMID (overwritten later)", [], {}, [w0(0x13, 3n << 32n), 0n], 0],
  ["NH_ALL with word 1", [], {}, [w0(0x10), 1n], "EIO"],
  ["NH_ASID with bit 8 (RES0)", [], {}, [w0(0x11, 1n << 8n), 0n], "EIO"],
  ["NSNH_ALL plain", [], {}, [w0(0x30), 0n], 0],
  ["NSNH_ALL with a VMID", [], {}, [w0(0x30, 1n << 32n), 0n], "EIO"],
  ["ATC_INV without ATS", [], {}, [w0(0x40), 1n], "EIO"],
  ["ATC_INV size 52", RIL, {}, [w0(0x40), 52n], 0],
  ["ATC_INV size 53", RIL, {}, [w0(0x40), 53n], "EIO"],
  ["ATC_INV SSV+SSID with SSIDs", RIL, {}, [w0(0x40, (1n << 11n) | (5n << 12n)), 1n], 0],
  ["ATC_INV SSV without SSIDs", RIL, { ssidBits: 0 }, [w0(0x40, 1n << 11n), 1n], "EIO"],
  ["ATC_INV Global without SSIDs", RIL, { ssidBits: 0 }, [w0(0x40, 1n << 9n), 1n], "EIO"],
  ["CFGI_CD leaf and SSID", [], {}, [w0(0x5, 3n << 12n), 1n], 0],
  ["CFGI_CD SSID without SSIDs", [], { ssidBits: 0 }, [w0(0x5, 3n << 12n), 0n], "EIO"],
  ["CFGI_CD SSV", [], {}, [w0(0x5, 1n << 11n), 0n], "EIO"],
  ["CFGI_CD_ALL leaf", [], {}, [w0(0x6), 1n], "EIO"],
  ["CFGI_CD_ALL SSID", [], {}, [w0(0x6, 3n << 12n), 0n], "EIO"],
  ["CFGI_STE", [], {}, [w0(0x3), 0n], "EIO"],
  ["CMD_SYNC", [], {}, [w0(0x46), 0n], "EIO"],
  ["TLBI_S2_IPA", [], {}, [w0(0x2a), 0n], "EIO"],
];

Deno.test("vsmmuValidateUserCmd() allows exactly the bits each opcode may carry", async (t) => {
  for (const [name, features, opts, words, rc] of V_ROWS) {
    await t.step(name, () => assert.equal(vsmmuValidateUserCmd(SMMU(features, opts), words), rc));
  }
});

Deno.test("vsmmuValidateRange() follows the reserved TG/TTL/NUM/SCALE combinations", () => {
  const ril = SMMU(["range_inv"]);
  const ds = SMMU(["range_inv", "ds"]);
  assert.equal(vsmmuValidateRange(ril, [0x12n, 0n]), 0); // no range at all
  assert.equal(vsmmuValidateRange(ril, [0x12n | SCALE(1n), 0n]), "EIO");
  assert.equal(vsmmuValidateRange(ril, [0x12n, TG(3n) | TTL(2n)]), 0);
  assert.equal(vsmmuValidateRange(ril, [0x12n, TG(2n) | TTL(1n)]), "EIO");
  assert.equal(vsmmuValidateRange(ds, [0x12n, TG(2n) | TTL(1n)]), 0);
  assert.equal(vsmmuValidateRange(ril, [0x12n | SCALE(1n), TG(1n)]), 0);
});

Deno.test("vsmmuCmdOf() keeps what the codec can hold and traces the rest", () => {
  const smmu = SMMU([]);
  const cmd = vsmmuCmdOf(smmu, [0x10n | (5n << 32n) | (1n << 8n), 3n]);
  assert.equal(formatCmd(cmd), "TLBI_NH_ALL vmid=5");
  assert.deepEqual(smmu.cmdq.log.events, [{
    kind: "trace",
    name: "vsmmu_raw_bits",
    data: {
      queue: "smmu0",
      op: "TLBI_NH_ALL",
      w0: 0x10n | (5n << 32n) | (1n << 8n),
      w1: 3n,
      stray0: 1n << 8n,
      stray1: 3n,
    },
  }]);
});

Deno.test("vsmmuCacheInvalidate() post-series forwards SCALE bit 25 with DS (traced, not in the codec)", () => {
  const w = armWorld();
  const res = invalidate(w, [[0x12n | SCALE(32n) | (1n << 48n), TG(1n)]], { variant: "core-loop" });
  assert.deepEqual([res.rc, res.entryNum], [0, 1]);
  assert.deepEqual(w.text(), ["TLBI_NH_VA asid=1 vmid=5 tg=4K", "CMD_SYNC"]);
  assert.equal(w.log.events.filter((e) => e.kind === "trace").length, 1);
});

// Random arrays of good and bad guest commands.
const arbWords: fc.Arbitrary<Words> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map(nhAsid),
  fc.nat(0xfffff).map((p) =>
    encodeCmd(makeCmd("TLBI_NH_VA", { asid: 2, addr: BigInt(p) << 12n, leaf: true }))
  ),
  fc.constant<Words>([0x30n, 0n]),
  fc.constantFrom(0x99, 0x99, 0x77).map((sid) => encodeCmd(makeCmd("ATC_INV", { sid, size: 52 }))),
  fc.constant<Words>([0x10n, 1n]), // bad only after the series
  fc.constant(CFGI_STE),
);
const arbArray = fc.oneof(
  fc.array(arbWords, { maxLength: 10 }),
  fc.array(arbWords, { minLength: 60, maxLength: 200 }).map((a) =>
    a.map((c) => c === CFGI_STE ? nhAsid(9) : c)
  ),
  fc.array(arbWords, { minLength: 60, maxLength: 200 }),
);

Deno.test("vsmmuCacheInvalidate() pre-series op: identical under both cores", () => {
  fc.assert(
    fc.property(arbArray, (cmds) => {
      const runs = IOMMUFD_VARIANTS.map((variant: IommufdVariant) => {
        const w = armWorld();
        const res = invalidate(w, cmds, { variant, opVariant: "driver-loop" });
        return [res.rc, res.entryNum, res.opCalls, w.log.events];
      });
      assert.deepEqual(runs[0], runs[1]);
    }),
    { ...PROPERTY_SETTINGS, numRuns: 100 },
  );
});

Deno.test("vsmmuCacheInvalidate() post-series: only whole issued batches count", () => {
  fc.assert(
    fc.property(arbArray, (cmds) => {
      const w = armWorld();
      const res = invalidate(w, cmds, { variant: "core-loop" });
      const text = w.text();
      const batches = text.filter((c) => c === "CMD_SYNC").length;
      // entry_num is 63 per issued batch, or everything when all went through.
      assert.ok(res.rc === 0 ? res.entryNum === cmds.length : res.entryNum === 63 * batches);
      // Every counted command reached the queue, and nothing else did.
      assert.equal(asids(text), res.entryNum);
      assert.equal(batches, res.entryNum === 0 && res.rc === 0 ? 0 : Math.ceil(res.entryNum / 63));
    }),
    { ...PROPERTY_SETTINGS, numRuns: 100 },
  );
});
