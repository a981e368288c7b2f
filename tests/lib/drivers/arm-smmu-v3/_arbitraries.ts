// Arbitraries for the arm-smmu-v3 driver: random series of RID attaches, PASID attaches and
// PASID removals over a fixed cast of masters and domains.
import fc from "fast-check";

/** Masters of the property World: with and without ATS and PASIDs, several StreamIDs. */
export const MASTERS = [
  { name: "m0", sids: [2, 1], ats: true, pasidBits: 4 },
  { name: "m1", sids: [3], ats: false, pasidBits: 4 },
  { name: "m2", sids: [5, 4], ats: true, pasidBits: 0 },
] as const;

/** Domains a RID may be attached to. */
export const RID_DOMAINS = ["s1a", "s1b", "s2", "np", "identity", "blocked"] as const;
/** Domains a PASID may be attached to. */
export const PASID_DOMAINS = ["s1a", "s1b", "sva"] as const;

/** One step of a random attach series. */
export type AttachOp =
  | {
    readonly op: "attach";
    readonly master: number;
    readonly domain: typeof RID_DOMAINS[number];
    readonly path: "core" | "driver";
  }
  | {
    readonly op: "pasid";
    readonly master: number;
    readonly pasid: number;
    readonly domain: typeof PASID_DOMAINS[number];
  }
  | { readonly op: "unpasid"; readonly master: number; readonly pasid: number };

const arbMaster = fc.integer({ min: 0, max: MASTERS.length - 1 });
const arbPasid = fc.integer({ min: 1, max: 3 });

/** Any step. */
export const arbAttachOp: fc.Arbitrary<AttachOp> = fc.oneof(
  fc.record({
    op: fc.constant("attach" as const),
    master: arbMaster,
    domain: fc.constantFrom(...RID_DOMAINS),
    path: fc.constantFrom("core" as const, "driver" as const),
  }),
  fc.record({
    op: fc.constant("pasid" as const),
    master: arbMaster,
    pasid: arbPasid,
    domain: fc.constantFrom(...PASID_DOMAINS),
  }),
  fc.record({ op: fc.constant("unpasid" as const), master: arbMaster, pasid: arbPasid }),
);

/** A series of steps. */
export const arbAttachSeries: fc.Arbitrary<AttachOp[]> = fc.array(arbAttachOp, {
  maxLength: 40,
  size: "max",
});
