/**
 * The spec format as zod schemas: the one source of the TS builder's types, the runtime
 * validation of YAML and TS specs, and the JSON Schema editors read.
 * Steps are validated per verb (see `verbs/mod.ts`) so a typo gives one precise error.
 * @module
 */

import { z } from "zod";
import { CmdSyntaxError } from "../lib/hw/cmd_text.ts";
import { type Cmd, parseCmd } from "../lib/hw/smmuv3/cmd.ts";
import { parseU64 } from "../lib/num.ts";

/** A name of an IOMMU, device, domain or other declared object. */
export const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, {
  message: "names start with a letter or _ and use letters, digits, _ . -",
});

/** A 64-bit value: integer, `0x` hex (with `_`), or a size such as `4K`, `2M`, `1G`. */
export const U64 = z.union([z.bigint(), z.number(), z.string()])
  .transform((v, ctx) => {
    const r = typeof v === "string"
      ? parseU64(v)
      : typeof v === "number" && (!Number.isInteger(v) || v < 0)
      ? `expected a non-negative integer, got ${v}`
      : BigInt(v);
    if (typeof r === "string") {
      ctx.addIssue({ code: "custom", message: r });
      return z.NEVER;
    }
    if (r < 0n || r >= 1n << 64n) {
      ctx.addIssue({ code: "custom", message: `${v} does not fit in 64 bits` });
      return z.NEVER;
    }
    return r;
  })
  .meta({ description: "integer, 0x hex, or size with K/M/G/T suffix", "x-invspec": "u64" });

/** An unsigned integer of at most `bits` bits, as a number (ids, counts). */
export function uint(bits: number): z.ZodType<number, number | bigint | string> {
  const max = 2 ** bits - 1;
  return U64.transform((v, ctx) => {
    if (v > BigInt(max)) {
      ctx.addIssue({ code: "custom", message: `${v} does not fit in ${bits} bits (max ${max})` });
      return z.NEVER;
    }
    return Number(v);
  }) as unknown as z.ZodType<number, number | bigint | string>;
}

/** A list of page sizes written as sizes, e.g. `[4K, 2M, 1G]`. */
export const PageSizes = z.array(U64).min(1);

/** Scenario-level flags shared by every spec. */
export const ScenarioMeta = {
  /** Format version. */
  invspec: z.literal(1).meta({ description: "spec format version (1)" }),
  name: z.string().min(1).meta({ description: "scenario name shown in reports" }),
  description: z.string().optional(),
  tags: z.array(z.string()).optional().meta({ description: "labels for --tag selection" }),
  variant: z.record(z.string(), z.string()).optional().meta({
    description: "model variant per family, e.g. { arm-smmu-v3: v9 }",
  }),
  matrix: z.record(z.string(), z.array(z.union([z.string(), z.boolean(), z.number()])).min(1))
    .optional().meta({
      description: "run the scenario once per combination: variant families or features",
    }),
  check: z.enum(["on", "off"]).optional().meta({
    description: "stale-translation check after every step (default on)",
  }),
  only: z.boolean().optional().meta({ description: "run only scenarios marked only (fails CI)" }),
  skip: z.string().optional().meta({ description: "skip with this reason" }),
  xfail: z.string().optional().meta({
    description: "expected to fail (reason); passing is reported as XPASS, a failure",
  }),
} as const;

/**
 * Parses an SMMUv3 command written as canonical text inside a zod transform; a bad token is
 * an issue whose `offset`/`length` put the caret on it.
 */
export function smmuCmdOfText(text: string, ctx: z.RefinementCtx): Cmd {
  try {
    return parseCmd(text);
  } catch (e) {
    if (!(e instanceof CmdSyntaxError)) throw e;
    ctx.addIssue({
      code: "custom",
      message: e.message,
      params: { offset: e.offset, length: e.length },
    });
    return z.NEVER;
  }
}

/** An SMMUv3 command written as canonical text, parsed when the spec loads. */
export const SmmuCmdText: z.ZodType<Cmd, string> = z.string().transform(smmuCmdOfText);
