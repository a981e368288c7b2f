import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ArmSmmuMaster,
  attachPrepareInvs,
  attachStateInit,
  installNewDomainInvs,
  installOldDomainInvs,
  INV_TYPES,
  invFlushIotlbTag,
  invMake,
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  type IommuDomain,
  iommuRemoveDevicePasid,
  type SmmuDomain,
  toSmmuDomainDevices,
} from "../../../../lib/drivers/arm-smmu-v3/mod.ts";
import { PROPERTY_SETTINGS } from "../../../arbitraries.ts";
import { arbAttachSeries, type AttachOp, MASTERS } from "./_arbitraries.ts";
import { cmds, paging, probe, problems, rows, sva, type TestWorld, world } from "./_fixtures.ts";

Deno.test("attachPrepareInvs() merges into a new array and builds the old entries", () => {
  const w = world();
  const m = probe(w, { name: "m", sids: [0x10], ats: true });
  const a = paging(w, { name: "a", smmu: w.smmu.smmu0 });
  const b = paging(w, { name: "b", smmu: w.smmu.smmu0 });
  iommuAttachDevice(w.drv, m, { domain: a });
  const before = a.invs;
  const st = attachStateInit(m, { oldDomain: a, ssid: 0 });
  st.atsEnabled = true;
  assert.equal(attachPrepareInvs(w.drv, st, { newDomain: b }), 0);
  assert.equal(a.invs, before, "nothing published yet");
  assert.deepEqual(rows(b), []);
  assert.deepEqual(st.newDomainInvst.newInvs?.inv.map((e) => [e.type, e.id]), [
    ["S1_ASID", 2],
    ["ATS", 0x10],
  ]);
  // The scratch now describes what to drop from a.
  assert.deepEqual(st.oldDomainInvst.newInvs?.inv.map((e) => [e.type, e.id]), [
    ["S1_ASID", 1],
    ["ATS", 0x10],
  ]);
  installNewDomainInvs(w.drv, st);
  assert.deepEqual(rows(b).map((r) => r[3]), [1, 1]);
  const mark = w.log.events.length;
  installOldDomainInvs(w.drv, st);
  assert.deepEqual(cmds(w.log, mark), ["TLBI_NH_ASID asid=1", "CMD_SYNC"]);
  assert.deepEqual(rows(a), []);
});

Deno.test("installOldDomainInvs() publishes a purged array when trash is left in the middle", () => {
  const w = world();
  const m1 = probe(w, { name: "m1", sids: [0x10], ats: true });
  const m2 = probe(w, { name: "m2", sids: [0x20], ats: true });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m1, { domain: d });
  iommuAttachDevice(w.drv, m2, { domain: d });
  const arrays: number[] = [];
  const mark = w.log.events.length;
  iommuDetachDevice(w.drv, m1);
  for (const e of w.log.events.slice(mark)) {
    if (e.kind === "trace" && e.name.startsWith("invs_")) arrays.push(Number(e.data.num_invs));
  }
  // unref leaves [S1_ASID, ATS 0x10 (trash), ATS 0x20]; purge publishes the two live ones.
  assert.deepEqual(arrays, [3, 2]);
  assert.deepEqual(rows(d), [["S1_ASID", 1, 0, 1], ["ATS", 0x20, 0, 1]]);
});

Deno.test("installOldDomainInvs() v9: the unref callback flushes the tag", () => {
  const w = world({ variant: "v9" });
  const m = probe(w, { name: "m", sids: [0x10] });
  const d = paging(w, { name: "d" });
  iommuAttachDevice(w.drv, m, { domain: d });
  const mark = w.log.events.length;
  iommuDetachDevice(w.drv, m);
  const out = cmds(w.log, mark);
  assert.deepEqual(out.slice(out.indexOf("TLBI_NH_ASID asid=1"))[1], "CMD_SYNC");
  assert.deepEqual(problems(w.log, mark), []);
});

Deno.test("installOldDomainInvs() on a failed purge: mainline keeps the array, v9 WARNs", () => {
  for (const variant of ["mainline", "v9"] as const) {
    const w = world({ variant });
    const m1 = probe(w, { name: "m1", sids: [0x10], ats: true });
    const m2 = probe(w, { name: "m2", sids: [0x20], ats: true });
    const d = paging(w, { name: "d" });
    iommuAttachDevice(w.drv, m1, { domain: d });
    iommuAttachDevice(w.drv, m2, { domain: d });
    const mark = w.log.events.length;
    w.drv.nomem = 1;
    iommuDetachDevice(w.drv, m1);
    assert.deepEqual(rows(d).map((r) => r[3]), [1, 0, 1]);
    assert.deepEqual(
      problems(w.log, mark),
      variant === "v9"
        ? ["arm_smmu_install_old_domain_invs: ERR_PTR(-ENOMEM) published as invs"]
        : [],
    );
  }
});

Deno.test("invFlushIotlbTag() sends the nsize opcode with a SYNC, only for ASID/VMID entries", () => {
  const w = world({ smmus: { A: { features: ["e2h"] }, B: { sortKey: 1 } } });
  invFlushIotlbTag(invMake(w.smmu.A, { type: "S1_ASID", id: 7 }));
  invFlushIotlbTag(invMake(w.smmu.B, { type: "S1_ASID", id: 7 }));
  invFlushIotlbTag(invMake(w.smmu.B, { type: "S2_VMID", id: 3 }));
  invFlushIotlbTag(invMake(w.smmu.B, { type: "S2_VMID_S1_CLEAR", id: 3 }));
  invFlushIotlbTag(invMake(w.smmu.B, { type: "ATS", id: 3 }));
  assert.deepEqual(cmds(w.log, 0, { queue: true }), [
    "A: TLBI_EL2_ASID asid=7",
    "A: CMD_SYNC",
    "B: TLBI_NH_ASID asid=7",
    "B: CMD_SYNC",
    "B: TLBI_S12_VMALL vmid=3",
    "B: CMD_SYNC",
  ]);
});

// ---- Property: arrays equal what the attached masters build ----

function propertyWorld(): TestWorld & {
  masters: ArmSmmuMaster[];
  domains: Map<string, IommuDomain>;
} {
  const w = world({ smmus: { A: { features: ["range_inv", "ats", "sva", "nesting"] } } });
  const masters = MASTERS.map((m) => probe(w, { ...m, sids: [...m.sids] }));
  const domains = new Map<string, IommuDomain>([
    ["s1a", paging(w, { name: "s1a" })],
    ["s1b", paging(w, { name: "s1b" })],
    ["s2", paging(w, { name: "s2", stage: "s2" })],
    ["np", paging(w, { name: "np", nestParent: true })],
    ["sva", sva(w, { name: "sva" })],
    ["identity", w.drv.identityDomain],
    ["blocked", w.drv.blockedDomain],
  ]);
  return { ...w, masters, domains };
}

function run(w: ReturnType<typeof propertyWorld>, op: AttachOp): void {
  const m = w.masters[op.master];
  if (op.op === "attach") {
    iommuAttachDevice(w.drv, m, { domain: w.domains.get(op.domain)!, path: op.path });
  } else if (op.op === "pasid") {
    iommuAttachDevicePasid(w.drv, m, { pasid: op.pasid, domain: w.domains.get(op.domain)! });
  } else if (m.pasids.has(op.pasid)) {
    iommuRemoveDevicePasid(w.drv, m, { pasid: op.pasid });
  }
}

type Row = [string, number, number, number];

// What the attachments of `d` must have put in its array, written from smmuv3.md §7.2
// independently of masterBuildInvs(): per attachment the ASID or VMID, the S1 clear of a
// nesting parent, and per StreamID an ATS (ATS_FULL for a nesting parent) entry with the
// attachment's PASID when the master's ATS is on; users = how many attachments share it.
function expected(w: ReturnType<typeof propertyWorld>, d: SmmuDomain): Row[] {
  const count = new Map<string, Row>();
  const add = (type: string, id: number, ssid: number) => {
    const k = `${INV_TYPES.indexOf(type as never)}/${id}/${ssid}`;
    const r = count.get(k) ?? [type, id, ssid, 0];
    r[3]++;
    count.set(k, r);
  };
  for (const m of w.masters) {
    const attachments: [IommuDomain | null, number][] = [
      [m.domain, 0],
      ...[...m.pasids].map(
        ([p, pd]) => [pd, p] as [IommuDomain, number],
      ),
    ];
    for (const [ad, ssid] of attachments) {
      if (toSmmuDomainDevices(ad) !== d) continue;
      if (d.stage === "s2") add("S2_VMID", d.vmid, 0);
      else add("S1_ASID", d.asid, 0);
      if (d.nestParent) add("S2_VMID_S1_CLEAR", d.vmid, 0);
      if (!m.atsEnabled) continue;
      for (const sid of m.streams) add(d.nestParent ? "ATS_FULL" : "ATS", sid, ssid);
    }
  }
  const key = (r: Row) => [INV_TYPES.indexOf(r[0] as never), r[1], r[2]];
  return [...count.values()].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
  });
}

Deno.test("every domain's array equals the sorted multiset its attachments build, without trash", () => {
  fc.assert(
    fc.property(arbAttachSeries, (series) => {
      const w = propertyWorld();
      for (const op of series) {
        run(w, op);
        for (const d of w.domains.values()) {
          if (d.type !== "paging" && d.type !== "sva") continue;
          const want = expected(w, d);
          assert.deepEqual(rows(d), want, `${d.name} after ${JSON.stringify(op)}`);
          assert.equal(d.invs.numTrashes, 0);
          // One list entry per attachment: the users of the ASID/VMID entry.
          assert.equal(d.devices.length, want.length ? want[0][3] : 0);
        }
      }
      assert.deepEqual(problems(w.log), []);
    }),
    {
      ...PROPERTY_SETTINGS,
      examples: [[[
        { op: "attach", master: 0, domain: "s1a", path: "core" },
        { op: "pasid", master: 0, pasid: 1, domain: "s1a" },
        { op: "attach", master: 0, domain: "identity", path: "driver" },
        { op: "unpasid", master: 0, pasid: 1 },
      ]]],
    },
  );
});
