// The invalidation array at scale (smmuv3.md §6, §9): attaching 1, 100 and 4,096 masters with
// 16 ATS StreamIDs each to one S1 domain (arrays of up to 1 + 65,536 entries; each attach
// merges the whole array into a new one, so one attach is linear in the array), and a full
// flush of that domain (one NH_ASID and 65,536 ATC_INVs in batches of 64).
import { eventLogCreate } from "../lib/events.ts";
import { smmuCreate, type SmmuDevice } from "../lib/hw/smmuv3/smmu.ts";
import {
  armSmmuDeviceAdd,
  armSmmuDriverCreate,
  type ArmSmmuMaster,
  domainAllocPaging,
  domainInv,
  invMake,
  type Invs,
  invsAlloc,
  invsMerge,
  iommuAttachDevice,
  isErr,
  masterProbe,
  type SmmuDomain,
} from "../lib/drivers/arm-smmu-v3/mod.ts";

const SIDS_PER_MASTER = 16;

function setup(masters: number) {
  const log = eventLogCreate();
  const smmu = smmuCreate("smmu0", log, { features: ["range_inv", "ats"], cmdqShift: 16 });
  const drv = armSmmuDriverCreate(log);
  armSmmuDeviceAdd(drv, smmu);
  const d = domainAllocPaging(drv, { name: "d", smmu });
  if (isErr(d)) throw new Error("domain");
  const list: ArmSmmuMaster[] = [];
  for (let i = 0; i < masters; i++) {
    const sids = Array.from({ length: SIDS_PER_MASTER }, (_, j) => i * SIDS_PER_MASTER + j);
    const m = masterProbe(drv, { name: `m${i}`, smmu, sids, ats: true });
    if (isErr(m)) throw new Error("master");
    list.push(m);
  }
  return { log, drv, d: d as SmmuDomain, masters: list };
}

function attachAll(w: ReturnType<typeof setup>): void {
  for (const m of w.masters) iommuAttachDevice(w.drv, m, { domain: w.d });
  if (w.d.invs.numInvs !== 1 + w.masters.length * SIDS_PER_MASTER) throw new Error("size");
}

for (const n of [1, 100, 4096]) {
  Deno.bench({
    name: `attach ${n} masters x ${SIDS_PER_MASTER} ATS SIDs to one domain`,
    group: "attach",
    n: n >= 4096 ? 1 : undefined,
    warmup: n >= 4096 ? 0 : undefined,
    fn: (b) => {
      const w = setup(n);
      b.start();
      attachAll(w);
      b.end();
    },
  });
}

// The merge of one more master into a domain already holding 4,095 (pure: nothing mutated).
function bigArray(smmu: SmmuDevice, entries: number): Invs {
  const a = invsAlloc(entries + 1);
  a.inv.push({
    ...invMake(smmu, { type: "S1_ASID", id: 1, pgsize: 12 }),
    users: entries / SIDS_PER_MASTER,
  });
  for (let sid = 0; sid < entries; sid++) {
    a.inv.push({ ...invMake(smmu, { type: "ATS", id: sid }), users: 1 });
  }
  a.numInvs = a.inv.length;
  a.hasAts = true;
  return a;
}
const mergeLog = eventLogCreate();
const mergeSmmu = smmuCreate("smmu0", mergeLog, { features: ["range_inv", "ats"] });
const base = bigArray(mergeSmmu, 4095 * SIDS_PER_MASTER);
const scratch = bigArray(mergeSmmu, SIDS_PER_MASTER);
scratch.inv.forEach((e, i) =>
  scratch.inv[i] = { ...e, id: e.type === "ATS" ? e.id + 4095 * 16 : 1 }
);
Deno.bench({
  name: "invsMerge() of 17 entries into a 65,521-entry array",
  group: "merge",
  fn: () => {
    invsMerge(base, scratch, { log: mergeLog });
  },
});

// A full flush of a domain whose array holds what 4,096 such masters put there.
const full = setup(0);
full.d.invs = bigArray(full.d.smmu as SmmuDevice, 4096 * SIDS_PER_MASTER);
Deno.bench({
  name: "domainInv() full flush, 65,537 entries (NH_ASID + 65,536 ATC_INV)",
  group: "flush",
  fn: () => {
    full.log.events.length = 0;
    domainInv(full.drv, full.d);
  },
});
