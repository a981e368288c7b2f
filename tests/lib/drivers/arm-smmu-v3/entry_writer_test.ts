import assert from "node:assert/strict";
import { getCdUsed } from "../../../../lib/drivers/arm-smmu-v3/cd.ts";
import {
  type EntryWriterOps,
  writeEntry,
} from "../../../../lib/drivers/arm-smmu-v3/entry_writer.ts";
import {
  getSteUpdateSafe,
  getSteUsed,
  makeAbortSte,
  makeBypassSte,
  NUM_ENTRY_QWORDS,
  STRTAB_STE_1_MEV,
  STRTAB_STE_1_S1DSS_BYPASS,
  STRTAB_STE_1_S1DSS_SSID0,
} from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { ATS, cdtableSte, FAKE_CDTAB_DMA, NESTED, s1Cd, s2Ste, STALL, svaCd } from "./_kunit.ts";

// Ported from arm-smmu-v3-test.c (mainline): every STE and CD transition it checks.
const zero = (): bigint[] => new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
const BYPASS = makeBypassSte({ attrTypesOvr: true });
const ABORT = makeAbortSte();

// arm_smmu_entry_differs_in_used_bits(): compares only used, non-safe bits.
function differs(entry: bigint[], used: bigint[], target: readonly bigint[], safe: bigint[]) {
  return entry.some((q, i) => (q & used[i] & ~safe[i]) !== (target[i] & used[i] & ~safe[i]));
}

// arm_smmu_v3_test_{ste,cd}_expect_transition(): counts syncs, notes whether V=0 was ever
// visible, and checks each visible intermediate matches the start or the target in used bits.
function expectTransition(
  kind: "ste" | "cd",
  cur: readonly bigint[],
  target: readonly bigint[],
  want: { syncs: number; hitless: boolean },
): void {
  const entry = [...cur];
  const getUsed = kind === "ste" ? getSteUsed : getCdUsed;
  const getSafe = kind === "ste" ? getSteUpdateSafe : undefined;
  let syncs = 0;
  let invalidWritten = false;
  const ops: EntryWriterOps = {
    getUsed,
    getUpdateSafe: getSafe,
    sync() {
      syncs++;
      if (entry[0] === 0n) {
        invalidWritten = true;
        return;
      }
      const used = zero();
      getUsed(entry, used);
      const safeInit = getSafe?.(entry, cur) ?? zero();
      const safeTarget = getSafe?.(entry, target) ?? zero();
      assert.ok(
        !(differs(entry, used, cur, safeInit) && differs(entry, used, target, safeTarget)),
        "an intermediate entry matches neither the start nor the target",
      );
    },
  };
  writeEntry(ops, { entry, target });
  assert.equal(invalidWritten, !want.hitless, "hitless");
  assert.equal(syncs, want.syncs, "syncs");
  assert.deepEqual(entry, [...target]);
}

interface Row {
  readonly name: string;
  readonly kind: "ste" | "cd";
  readonly cur: () => readonly bigint[];
  readonly target: () => readonly bigint[];
  readonly syncs: number;
  readonly hitless: boolean;
}

const SSID0 = STRTAB_STE_1_S1DSS_SSID0;
const S1DSS_BYPASS = STRTAB_STE_1_S1DSS_BYPASS;
const cdtab = (feat = ATS) => cdtableSte(SSID0, FAKE_CDTAB_DMA, feat);
const s1dssBypass = (feat = ATS) => cdtableSte(S1DSS_BYPASS, FAKE_CDTAB_DMA, feat);

// Each row names its KUnit case; NUM_EXPECTED_SYNCS and hitless/non-hitless as there. Cases
// that check both directions are two rows.
const ROWS: readonly Row[] = [
  {
    name: "write_ste_test_bypass_to_abort",
    kind: "ste",
    cur: () => BYPASS,
    target: () => ABORT,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_abort_to_bypass",
    kind: "ste",
    cur: () => ABORT,
    target: () => BYPASS,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_cdtable_to_abort",
    kind: "ste",
    cur: cdtab,
    target: () => ABORT,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_abort_to_cdtable",
    kind: "ste",
    cur: () => ABORT,
    target: cdtab,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_cdtable_to_bypass",
    kind: "ste",
    cur: cdtab,
    target: () => BYPASS,
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_bypass_to_cdtable",
    kind: "ste",
    cur: () => BYPASS,
    target: cdtab,
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_cdtable_s1dss_change (to bypass)",
    kind: "ste",
    cur: cdtab,
    target: s1dssBypass,
    syncs: 1,
    hitless: true,
  },
  {
    name: "write_ste_test_cdtable_s1dss_change (back)",
    kind: "ste",
    cur: s1dssBypass,
    target: cdtab,
    syncs: 1,
    hitless: true,
  },
  {
    name: "write_ste_test_s1dssbypass_to_stebypass",
    kind: "ste",
    cur: s1dssBypass,
    target: () => BYPASS,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_stebypass_to_s1dssbypass",
    kind: "ste",
    cur: () => BYPASS,
    target: s1dssBypass,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_s2_to_abort",
    kind: "ste",
    cur: () => s2Ste(ATS),
    target: () => ABORT,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_abort_to_s2",
    kind: "ste",
    cur: () => ABORT,
    target: () => s2Ste(ATS),
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_s2_to_bypass",
    kind: "ste",
    cur: () => s2Ste(ATS),
    target: () => BYPASS,
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_bypass_to_s2",
    kind: "ste",
    cur: () => BYPASS,
    target: () => s2Ste(ATS),
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_ste_test_s1_to_s2",
    kind: "ste",
    cur: cdtab,
    target: () => s2Ste(ATS),
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_s2_to_s1",
    kind: "ste",
    cur: () => s2Ste(ATS),
    target: cdtab,
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_non_hitless",
    kind: "ste",
    cur: cdtab,
    target: () => cdtableSte(S1DSS_BYPASS, 0x4B4B4b4B4Bn, ATS),
    syncs: 3,
    hitless: false,
  },
  {
    name: "write_ste_test_s1_to_s2_stall",
    kind: "ste",
    cur: () => cdtab(STALL),
    target: () => s2Ste(STALL),
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_s2_to_s1_stall",
    kind: "ste",
    cur: () => s2Ste(STALL),
    target: () => cdtab(STALL),
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_nested_s1dssbypass_to_s1bypass",
    kind: "ste",
    cur: () => s1dssBypass(ATS | NESTED),
    target: () => s2Ste(0),
    syncs: 3,
    hitless: true,
  },
  {
    name: "write_ste_test_nested_s1bypass_to_s1dssbypass",
    kind: "ste",
    cur: () => s2Ste(0),
    target: () => s1dssBypass(ATS | NESTED),
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_cd_test_s1_clear (set)",
    kind: "cd",
    cur: zero,
    target: () => s1Cd(1997),
    syncs: 2,
    hitless: false,
  },
  {
    name: "write_cd_test_s1_clear (clear)",
    kind: "cd",
    cur: () => s1Cd(1997),
    target: zero,
    syncs: 2,
    hitless: false,
  },
  {
    name: "write_cd_test_s1_change_asid",
    kind: "cd",
    cur: () => s1Cd(778),
    target: () => s1Cd(1997),
    syncs: 1,
    hitless: true,
  },
  {
    name: "write_cd_test_s1_change_asid (back)",
    kind: "cd",
    cur: () => s1Cd(1997),
    target: () => s1Cd(778),
    syncs: 1,
    hitless: true,
  },
  {
    name: "write_cd_test_sva_clear (set)",
    kind: "cd",
    cur: zero,
    target: () => svaCd(1997),
    syncs: 2,
    hitless: false,
  },
  {
    name: "write_cd_test_sva_clear (clear)",
    kind: "cd",
    cur: () => svaCd(1997),
    target: zero,
    syncs: 2,
    hitless: false,
  },
  {
    name: "write_cd_test_sva_release",
    kind: "cd",
    cur: () => svaCd(1997),
    target: () => svaCd(1997, true),
    syncs: 2,
    hitless: true,
  },
  {
    name: "write_cd_test_sva_release (back)",
    kind: "cd",
    cur: () => svaCd(1997, true),
    target: () => svaCd(1997),
    syncs: 2,
    hitless: true,
  },
];

Deno.test("writeEntry() matches the kernel's STE/CD writer KUnit vectors", async (t) => {
  for (const r of ROWS) {
    await t.step(r.name, () => expectTransition(r.kind, r.cur(), r.target(), r));
  }
});

Deno.test("writeEntry() reports the sequence it used", () => {
  const ops = (n: { syncs: number }): EntryWriterOps => ({
    getUsed: getSteUsed,
    getUpdateSafe: getSteUpdateSafe,
    sync: () => n.syncs++,
  });
  const n = { syncs: 0 };
  const same = [...ABORT];
  assert.deepEqual(writeEntry(ops(n), { entry: same, target: ABORT }), {
    update: "unchanged",
    syncs: 0,
  });
  assert.deepEqual(writeEntry(ops(n), { entry: [...ABORT], target: BYPASS }), {
    update: "hitless",
    syncs: 2,
  });
  const r = writeEntry(ops(n), {
    entry: cdtab(),
    target: cdtableSte(S1DSS_BYPASS, 0x4B4B4b4B4Bn, ATS),
  });
  assert.deepEqual(r, { update: "breaking", syncs: 3 });
  // Only a safe bit (MEV) differs on a nested STE: a plain write, one sync.
  const nested = s1dssBypass(ATS | NESTED);
  const noMev = [...nested];
  noMev[1] &= ~STRTAB_STE_1_MEV;
  assert.deepEqual(writeEntry(ops(n), { entry: nested, target: noMev }), {
    update: "plain",
    syncs: 1,
  });
});
