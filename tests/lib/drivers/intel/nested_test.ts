import assert from "node:assert/strict";
import { U64_MAX } from "../../../../lib/bits.ts";
import {
  type FlushRequest,
  type IntelNestedDomain,
  nestedCacheInvalidateUser,
  nrpagesToSize,
} from "../../../../lib/drivers/intel/nested.ts";
import {
  entriesEncode,
  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 as VTD,
  IOMMUFD_VARIANTS,
  type Rc,
} from "../../../../lib/iommufd/mod.ts";
import { opSetup } from "../../iommufd/fixtures.ts";

const DOMAIN: IntelNestedDomain = { driver: "intel", name: "s1" };
type E = { addr?: bigint; npages?: bigint; flags?: number; reserved?: number };
const enc = (...e: E[]) => entriesEncode(e.map((x) => ({ kind: "vtd_s1", ...x })));

function run(
  bytes: Uint8Array,
  opts: { num: number; len?: number; type?: number; variant?: "driver-loop" | "core-loop" },
) {
  const flushes: FlushRequest[] = [];
  const { array, ctx, log } = opSetup(bytes, {
    type: opts.type ?? VTD,
    entryLen: opts.len ?? 24,
    entryNum: opts.num,
    variant: opts.variant ?? "driver-loop",
  });
  const rc = nestedCacheInvalidateUser(DOMAIN, array, {
    ...ctx,
    flush: (_d, req) => flushes.push(req),
  });
  return { rc, out: array.entryNum, flushes, log };
}

// intel_nested_cache_invalidate_user() per entry (iommufd.md §6.1; vtd-sva-pkvm.md B.7): end
// is addr + npages * 4 KiB - 1 in 64-bit arithmetic, ih is the LEAF flag. Hand-computed.
// deno-fmt-ignore
const ROWS: readonly { name: string; e: E; rc: Rc; flush?: FlushRequest }[] = [
  { name: "two leaf pages", e: { addr: 0x40000n, npages: 2n, flags: 1 }, rc: 0, flush: { start: 0x40000n, end: 0x41fffn, ih: 1 } },
  { name: "one page, not leaf", e: { addr: 0x1000n, npages: 1n }, rc: 0, flush: { start: 0x1000n, end: 0x1fffn, ih: 0 } },
  // "All": (U64_MAX << 12) - 1 wraps to 0xffff_ffff_ffff_efff, not ULONG_MAX.
  { name: "everything", e: { addr: 0n, npages: U64_MAX }, rc: 0, flush: { start: 0n, end: 0xffff_ffff_ffff_efffn, ih: 0 } },
  // npages 0 is not rejected: end lands one byte below start.
  { name: "zero pages", e: { addr: 0x5000n, npages: 0n }, rc: 0, flush: { start: 0x5000n, end: 0x4fffn, ih: 0 } },
  { name: "all with an address", e: { addr: 0x1000n, npages: U64_MAX }, rc: "EINVAL" },
  { name: "misaligned address", e: { addr: 0x1001n, npages: 1n }, rc: "EINVAL" },
  { name: "unknown flag", e: { addr: 0x1000n, npages: 1n, flags: 2 }, rc: "EOPNOTSUPP" },
  // Flags/reserved are checked before the address.
  { name: "reserved word and misaligned", e: { addr: 0x1001n, npages: 1n, reserved: 1 }, rc: "EOPNOTSUPP" },
];

Deno.test("nestedCacheInvalidateUser() checks and flushes each entry like the kernel", async (t) => {
  for (const variant of IOMMUFD_VARIANTS) {
    for (const r of ROWS) {
      await t.step(`${r.name} (${variant})`, () => {
        const res = run(enc(r.e), { num: 1, variant });
        assert.equal(res.rc, r.rc);
        assert.equal(res.out, r.rc === 0 ? 1 : 0);
        assert.deepEqual(res.flushes, r.flush ? [r.flush] : []);
        assert.deepEqual(
          res.log.events,
          r.flush
            ? [{ kind: "trace", name: "intel_nested_flush", data: { domain: "s1", ...r.flush } }]
            : [],
        );
      });
    }
  }
});

Deno.test("nestedCacheInvalidateUser() stops at the first bad entry, earlier ones flushed and counted", () => {
  const bytes = enc({ addr: 0x1000n, npages: 1n }, { addr: 0x2000n, npages: 1n }, {
    addr: 0x3001n,
    npages: 1n,
  }, {
    addr: 0x4000n,
    npages: 1n,
  });
  const pre = run(bytes, { num: 4 });
  assert.deepEqual([pre.rc, pre.out, pre.flushes.length], ["EINVAL", 2, 2]);
  const post = run(bytes, { num: 4, variant: "core-loop" });
  assert.deepEqual([post.rc, post.out, post.flushes.length], [0, 1, 1]);
});

Deno.test("nestedCacheInvalidateUser() needs entry_len == 24 and the VT-d type, even to probe", () => {
  const bytes = new Uint8Array(48);
  bytes.set(enc({ addr: 0x1000n, npages: 1n }));
  for (const len of [16, 23, 25, 32]) assert.equal(run(bytes, { num: 1, len }).rc, "EINVAL");
  for (const variant of IOMMUFD_VARIANTS) {
    assert.equal(run(bytes, { num: 0, type: 1, variant }).rc, "EINVAL");
    assert.deepEqual([run(bytes, { num: 0, variant }).rc, run(bytes, { num: 0, variant }).out], [
      0,
      0,
    ]);
  }
});

Deno.test("nrpagesToSize() shifts by 12 with 64-bit wrap-around", () => {
  assert.equal(nrpagesToSize(3n), 0x3000n);
  assert.equal(nrpagesToSize(U64_MAX), 0xffff_ffff_ffff_f000n);
});
