/**
 * fast-check arbitraries for VT-d descriptors: any descriptor whose fields fit, with the
 * device-TLB size orders in 0..52 and their addresses aligned to the size, as the
 * hardware encoding requires.
 * @module
 */

import fc from "fast-check";
import type { FieldSpec } from "../../../../lib/hw/codec.ts";
import { type Desc, type DescOp, VTD_OPS } from "../../../../lib/hw/vtd/desc.ts";
import { arbField } from "../../../arbitraries.ts";

const ORDER = fc.integer({ min: 0, max: 52 });

function arbDevTlb(op: "DEV_TLB_INV" | "P_DEV_TLB_INV"): fc.Arbitrary<Desc> {
  const fields = VTD_OPS[op].fields as Record<string, FieldSpec>;
  const sizeName = op === "DEV_TLB_INV" ? "mask" : "size_order";
  return ORDER.chain((order) => {
    const rec: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, f] of Object.entries(fields)) rec[name] = arbField(f);
    rec[sizeName] = fc.constant(order);
    rec.addr = fc.bigInt({ min: 0n, max: (1n << BigInt(52 - order)) - 1n })
      .map((v) => v << BigInt(12 + order));
    return fc.record(rec).map((r) => ({ op, ...r }) as unknown as Desc);
  });
}

/** Any VT-d descriptor that can be encoded. */
export const arbDesc: fc.Arbitrary<Desc> = fc.constantFrom(
  ...(Object.keys(VTD_OPS) as DescOp[]),
).chain((op) => {
  if (op === "DEV_TLB_INV" || op === "P_DEV_TLB_INV") return arbDevTlb(op);
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, f] of Object.entries(VTD_OPS[op].fields as Record<string, FieldSpec>)) {
    rec[name] = arbField(f);
  }
  return fc.record(rec).map((r) => ({ op, ...r }) as unknown as Desc);
});
