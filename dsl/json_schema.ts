/**
 * The JSON Schema (draft-07) editors use for `*.inv.yaml` completion and checks, built from
 * the same zod schemas that validate specs. Steps are verb-keyed `anyOf` branches.
 * @module
 */

import { z } from "zod";
import { SpecSchema } from "./decl.ts";
import { EXPECT_KEYS } from "./areas/mod.ts";
import { VARIANT_FAMILIES } from "./variants.ts";
import { VERBS } from "./verbs/mod.ts";

const CommandLine = z.union([
  z.string().meta({ description: "a command in canonical text, e.g. TLBI_NH_VA asid=1 leaf" }),
  z.record(z.string(), z.string()).meta({
    description: "{ <iommu>: <command> } with several IOMMUs",
  }),
]);

const ExpectBlock = z.object({
  when: z.record(z.string(), z.unknown()).optional().meta({ description: "matrix condition" }),
  commands: z.array(CommandLine).optional().meta({ description: "the exact command sequence" }),
  mode: z.enum(["exact", "contains"]).optional(),
  returns: z.union([z.literal(0), z.string()]).optional().meta({
    description: "0 or an errno name",
  }),
  entry_num: z.number().int().optional(),
  warnings: z.array(z.string()).optional().meta({ description: 'kernel WARNs, "function: what"' }),
  hang: z.string().optional().meta({ description: "function expected not to finish" }),
  ...Object.fromEntries(
    Object.entries(EXPECT_KEYS).map((
      [k, x],
    ) => [k, z.unknown().optional().meta({ description: x.doc })]),
  ),
}).strict();

const Expect = z.union([z.array(CommandLine), ExpectBlock, z.array(ExpectBlock)]);

function stepSchema() {
  const branches = Object.values(VERBS).map((v) =>
    z.strictObject({
      [v.name]: (v.schema as z.ZodType).meta({ description: v.doc }),
      expect: Expect.optional(),
      name: z.string().optional(),
    })
  );
  return z.union(branches as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}

/** The JSON Schema of a spec file (one scenario per YAML document). */
export function specJsonSchema(): Record<string, unknown> {
  const families = Object.fromEntries(
    Object.entries(VARIANT_FAMILIES).map((
      [k, f],
    ) => [k, z.enum(f.values as [string, ...string[]]).optional()]),
  );
  const schema = SpecSchema.extend({
    steps: z.array(stepSchema()),
    variant: z.strictObject(families).optional(),
  });
  const out = z.toJSONSchema(schema, {
    target: "draft-7",
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const js = ctx.jsonSchema as Record<string, unknown>;
      if (js["x-invspec"] === "u64") {
        delete js.anyOf;
        delete js["x-invspec"];
        js.anyOf = [
          { type: "integer", minimum: 0 },
          { type: "string", pattern: "^(0[xX][0-9a-fA-F_]+|[0-9]+[KMGTPkmgtp]?)$" },
        ];
      }
    },
  }) as Record<string, unknown>;
  return {
    ...out,
    title: "invspec scenario",
    $id: "https://invspec.dev/schema/invspec.schema.json",
  };
}
