/**
 * Shared fast-check arbitraries and the fixed settings every property test uses, so CI
 * runs are reproducible.
 * @module
 */

import fc from "fast-check";
import type { FieldSpec } from "../lib/hw/codec.ts";
import { type Cmd, type CmdOp, SMMU_OPS } from "../lib/hw/smmuv3/cmd.ts";

/** Fixed seed and run count for every property test. */
export const PROPERTY_SETTINGS = { seed: 0x1a2b3c4d, numRuns: 300 } as const;

/** Any value that fits field `f`. */
export function arbField(f: FieldSpec): fc.Arbitrary<number | bigint | boolean> {
  const w = f.hi - f.lo + 1;
  switch (f.kind) {
    case "flag":
      return fc.boolean();
    case "addr":
      return fc.bigInt({ min: 0n, max: (1n << BigInt(w)) - 1n }).map((v) => v << BigInt(f.lo));
    case "u64":
      return fc.bigInt({ min: 0n, max: (1n << BigInt(w)) - 1n });
    default:
      return fc.integer({ min: 0, max: 2 ** w - 1 });
  }
}

/** Any SMMUv3 command of any opcode, every field within its width. */
export const arbSmmuCmd: fc.Arbitrary<Cmd> = fc.constantFrom(
  ...(Object.keys(SMMU_OPS) as CmdOp[]),
).chain((op) => {
  const fields = SMMU_OPS[op].fields as Record<string, FieldSpec>;
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, f] of Object.entries(fields)) rec[name] = arbField(f);
  return fc.record(rec).map((r) => ({ op, ...r }) as unknown as Cmd);
});
