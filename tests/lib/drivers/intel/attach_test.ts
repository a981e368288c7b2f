import assert from "node:assert/strict";
import {
  iommuAttachDevice,
  iommuAttachDevicePasid,
  iommuDetachDevice,
  iommuDetachDevicePasid,
} from "../../../../lib/drivers/intel/attach.ts";
import { intelIommuTlbSync } from "../../../../lib/drivers/intel/iotlb_sync.ts";
import { cmds, during, traces, world } from "./fixtures.ts";

// Scalable mode, CT-4, default unit (PSI, MAMV 18, DR/DW, no caching mode): attach,
// unmap 8 KiB at 0x40000 (leaf only), detach.
Deno.test("attach, unmap and detach in scalable mode emit the kernel's descriptors", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true });
  const D = w.domain("D");
  const attach = during(w.log, () => assert.equal(iommuAttachDevice(D, A), 0));
  // A new PASID entry needs no flush on real hardware; the tags are the only trace.
  assert.deepEqual(cmds(attach), []);
  assert.deepEqual(traces(attach, "cache_tag_assign").map((t) => t.type), ["iotlb", "devtlb"]);
  const unmap = during(
    w.log,
    () => intelIommuTlbSync(D, { start: 0x40000n, end: 0x41fffn, freelistNonEmpty: false }),
  );
  assert.deepEqual(cmds(unmap), [
    "dmar0: IOTLB_INV gran=psi did=2 addr=0x40000 am=1 ih dr dw",
    "dmar0: DEV_TLB_INV sid=0x300 addr=0x40000 mask=1",
    "dmar0: INV_WAIT",
  ]);
  const detach = during(w.log, () => assert.equal(iommuDetachDevice(A), 0));
  assert.deepEqual(cmds(detach), [
    "dmar0: PC_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: INV_WAIT",
  ]);
  // Tags go before the entry is torn down.
  assert.equal(detach[0].kind === "trace" && detach[0].name, "cache_tag_unassign");
  assert.deepEqual([D.cacheTags, A.domain, dmar0.didsInUse.size], [[], null, 0]);
});

Deno.test("attach on a caching-mode unit flushes the new entry's PASID cache and IOTLB", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0", { extra: ["caching_mode"] });
  const A = w.dev(dmar0, { name: "A", sid: 0x300 });
  const ev = during(w.log, () => iommuAttachDevice(w.domain("D"), A));
  assert.deepEqual(cmds(ev), [
    "dmar0: PC_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("attaching another domain first blocks the device (old DID torn down)", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300 });
  const D1 = w.domain("D1");
  const D2 = w.domain("D2");
  iommuAttachDevice(D1, A);
  const ev = during(w.log, () => iommuAttachDevice(D2, A));
  // D1's DID 2 is freed before D2 takes one, so D2 gets 2 again.
  assert.deepEqual(cmds(ev), [
    "dmar0: PC_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual(D2.cacheTags.map((t) => t.domainId), [2]);
  assert.deepEqual(during(w.log, () => iommuAttachDevice(D2, A)), []);
});

Deno.test("legacy mode programs and clears a context entry", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0", {
    caps: ["psi", "qis", "dev_iotlb", "read_drain", "write_drain"],
  });
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true });
  const D = w.domain("D");
  assert.deepEqual(cmds(during(w.log, () => iommuAttachDevice(D, A))), []);
  assert.deepEqual(D.cacheTags.map((t) => t.type), ["IOTLB", "DEVTLB"]);
  const ev = during(w.log, () => iommuDetachDevice(A));
  assert.deepEqual(cmds(ev), [
    "dmar0: CC_INV gran=device did=2 sid=0x300",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
    "dmar0: DEV_TLB_INV sid=0x300 mask=52",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual(iommuAttachDevice(w.domain("F", { kind: "fs_paging" }), A), { errno: "EINVAL" });
});

Deno.test("PASID attach/detach: tags first, entry torn down before the tags go", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
  const D = w.domain("D", { kind: "fs_paging" });
  const att = during(w.log, () => assert.equal(iommuAttachDevicePasid(D, A, { pasid: 7 }), 0));
  assert.deepEqual(cmds(att), []);
  assert.deepEqual(A.pasidTable.get(7), { present: true, fpd: false, did: 2, pgtt: "fl" });
  const det = during(w.log, () => assert.equal(iommuDetachDevicePasid(A, { pasid: 7 }), 0));
  assert.deepEqual(cmds(det), [
    "dmar0: PC_INV gran=pasid did=2 pasid=0x7",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=2 pasid=0x7",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x7 size_order=52",
    "dmar0: INV_WAIT",
  ]);
  const kinds = det.map((e) => e.kind === "trace" ? e.name : e.kind).filter((k) =>
    k !== "qi_submit"
  );
  assert.equal(kinds.indexOf("cache_tag_unassign") > kinds.lastIndexOf("cmd"), true);
  assert.deepEqual([D.cacheTags, D.devPasids, A.pasidDomains.size], [[], [], 0]);
});

Deno.test("PASID attach reports the core's and the driver's errors", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, pasid: true });
  const noPasid = w.dev(dmar0, { name: "B", sid: 0x308 });
  const D = w.domain("D");
  const S = w.domain("S", { kind: "sva", pasid: 0x10 });
  assert.deepEqual(iommuAttachDevicePasid(D, A, { pasid: 0 }), { errno: "EINVAL" });
  assert.deepEqual(iommuAttachDevicePasid(D, noPasid, { pasid: 3 }), { errno: "EOPNOTSUPP" });
  assert.deepEqual(iommuAttachDevicePasid(S, A, { pasid: 0x11 }), { errno: "EINVAL" });
  assert.equal(iommuAttachDevicePasid(D, A, { pasid: 3 }), 0);
  assert.deepEqual(iommuAttachDevicePasid(w.domain("D2"), A, { pasid: 3 }), { errno: "EBUSY" });
  assert.deepEqual(iommuDetachDevicePasid(A, { pasid: 4 }), { errno: "EINVAL" });
  assert.deepEqual(iommuAttachDevice(S, A), { errno: "EINVAL" });
});

Deno.test("SVA bind and unbind use DID 1 and PASID-wide flushes", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300, ats: true, pasid: true });
  const S = w.domain("S", { kind: "sva", pasid: 0x10 });
  assert.equal(iommuAttachDevicePasid(S, A, { pasid: 0x10 }), 0);
  assert.equal(A.pasidTable.get(0x10)?.did, 1);
  const ev = during(w.log, () => iommuDetachDevicePasid(A, { pasid: 0x10 }));
  assert.deepEqual(cmds(ev), [
    "dmar0: PC_INV gran=pasid did=1 pasid=0x10",
    "dmar0: INV_WAIT",
    "dmar0: P_IOTLB_INV gran=pasid did=1 pasid=0x10",
    "dmar0: INV_WAIT",
    "dmar0: P_DEV_TLB_INV sid=0x300 pasid=0x10 size_order=52",
    "dmar0: INV_WAIT",
  ]);
});

Deno.test("nested attach tags child and parent, detach flushes the nested DID domain-wide", () => {
  const w = world();
  const dmar0 = w.iommu("dmar0");
  const A = w.dev(dmar0, { name: "A", sid: 0x300 });
  const P = w.domain("P", { nestParent: true });
  const N = w.domain("N", { kind: "nested", parent: P });
  const att = during(w.log, () => assert.equal(iommuAttachDevice(N, A), 0));
  assert.deepEqual(traces(att, "cache_tag_assign").map((t) => t.type), ["iotlb", "nesting_iotlb"]);
  assert.equal(A.pasidTable.get(0)?.pgtt, "nested");
  const det = during(w.log, () => iommuDetachDevice(A));
  assert.deepEqual(cmds(det), [
    "dmar0: PC_INV gran=pasid did=2",
    "dmar0: INV_WAIT",
    "dmar0: IOTLB_INV gran=dsi did=2 dr dw",
    "dmar0: INV_WAIT",
  ]);
  assert.deepEqual([N.cacheTags, P.cacheTags], [[], []]);
});

Deno.test("attach fails cleanly when the unit lacks the domain's stage or ids", () => {
  const w = world();
  const ssOnly = w.iommu("dmar0", { caps: ["qis", "smts", "slts"] });
  const A = w.dev(ssOnly, { name: "A", sid: 0x300 });
  assert.deepEqual(iommuAttachDevice(w.domain("F", { kind: "fs_paging" }), A), { errno: "EINVAL" });
  assert.deepEqual(
    iommuAttachDevice(
      w.domain("N", { kind: "nested", parent: w.domain("P", { nestParent: true }) }),
      A,
    ),
    {
      errno: "EOPNOTSUPP",
    },
  );
  // ndoms 3: DIDs 0 and 1 are reserved, so only DID 2 can be handed out.
  const tiny = w.iommu("dmar1", { ndoms: 3 });
  const B = w.dev(tiny, { name: "B", sid: 0x8000 });
  const C = w.dev(tiny, { name: "C", sid: 0x8008 });
  assert.equal(iommuAttachDevice(w.domain("D1"), B), 0);
  const ev = during(
    w.log,
    () => assert.deepEqual(iommuAttachDevice(w.domain("D2"), C), { errno: "ENOSPC" }),
  );
  assert.equal(ev.some((e) => e.kind === "warn" && e.fn === "domain_attach_iommu"), true);
  assert.equal(C.domain, null);
});
