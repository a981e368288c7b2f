import assert from "node:assert/strict";
import {
  installSteForDev,
  steContext,
  writeSte,
} from "../../../../lib/drivers/arm-smmu-v3/strtab.ts";
import {
  makeAbortSte,
  makeBypassSte,
  makeCdtableSte,
  STRTAB_STE_1_S1DSS_SSID0,
} from "../../../../lib/drivers/arm-smmu-v3/ste.ts";
import { cmds, probe, world } from "./_fixtures.ts";

Deno.test("writeSte() syncs each step with CFGI_STE and prefetches unless the SMMU cannot", () => {
  for (const skip of [false, true]) {
    const w = world({ smmus: { A: { options: skip ? ["skip_prefetch"] : [] } } });
    const m = probe(w, { name: "m", sids: [0x10] });
    const ste = w.drv.instances.get("A")!.strtab.get(0x10)!;
    const r = writeSte(m, ste, { sid: 0x10, target: makeBypassSte({ attrTypesOvr: false }) });
    assert.deepEqual(r, { update: "hitless", syncs: 1 });
    assert.deepEqual(cmds(w.log), [
      "CFGI_STE sid=0x10 leaf",
      "CMD_SYNC",
      ...(skip ? [] : ["PREFETCH_CFG sid=0x10"]),
    ]);
  }
});

Deno.test("installSteForDev() writes each StreamID once and records CD table and EATS use", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x20, 0x10, 0x20], ats: true, pasidBits: 4 });
  const ste = makeCdtableSte({ ...steContext(w.drv, m), cdTable: m.cdTable }, {
    atsEnabled: true,
    s1dss: STRTAB_STE_1_S1DSS_SSID0,
  });
  installSteForDev(w.drv, m, { target: ste });
  assert.deepEqual(cmds(w.log).filter((c) => c.startsWith("PREFETCH")), [
    "PREFETCH_CFG sid=0x10",
    "PREFETCH_CFG sid=0x20",
  ]);
  assert.deepEqual([m.cdTable.inSte, m.steAtsEnabled], [true, true]);
  installSteForDev(w.drv, m, { target: makeAbortSte() });
  assert.deepEqual([m.cdTable.inSte, m.steAtsEnabled], [false, false]);
});
