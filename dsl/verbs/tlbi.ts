/**
 * `tlbi_range`: drive the shared range-TLBI builder directly on one SMMU's queue, as a
 * caller with an already-built command template would (smmuv3.md §2), then submit.
 * @module
 */

import { z } from "zod";
import { cmdqBatchInit, cmdqBatchSubmit } from "../../lib/hw/smmuv3/cmdq.ts";
import { cmdqBatchAddRange, type TlbiRangeCmd } from "../../lib/tlbi/range.ts";
import { Name, SmmuCmdText, U64 } from "../schema.ts";
import { defineVerb } from "./verb.ts";

const RANGE_OPS = new Set(["TLBI_NH_VA", "TLBI_EL2_VA", "TLBI_S2_IPA", "TLBI_NH_VAA"]);

const Template = SmmuCmdText.transform((cmd, ctx) => {
  if (!RANGE_OPS.has(cmd.op)) {
    ctx.addIssue({
      code: "custom",
      message:
        `${cmd.op} is not a range TLBI; use TLBI_NH_VA, TLBI_EL2_VA, TLBI_S2_IPA or TLBI_NH_VAA`,
    });
    return z.NEVER;
  }
  return cmd as TlbiRangeCmd;
});

/** `tlbi_range: { iommu, cmd, iova, size, granule, pgsize }`. */
export const TLBI_RANGE = defineVerb({
  name: "tlbi_range",
  doc: "build range TLBIs from a command template with the shared builder, then submit",
  schema: z.strictObject({
    iommu: Name,
    cmd: Template.meta({ description: 'template, e.g. "TLBI_NH_VA asid=1 leaf"' }),
    iova: U64,
    size: U64,
    granule: U64.optional().meta({ description: "default: the leaf page size" }),
    pgsize: U64.optional().meta({ description: "leaf page size, default 4K" }),
  }),
  refs: { iommu: "iommus" },
  apply(world, a) {
    const inst = world.iommus[a.iommu];
    if (inst.kind !== "smmuv3") throw new TypeError(`invspec bug: ${a.iommu} is not an SMMUv3`);
    const batch = cmdqBatchInit(inst.smmu);
    const pg = a.pgsize ?? 0x1000n;
    const pgShift = pg.toString(2).length - 1;
    cmdqBatchAddRange(batch, {
      cmd: a.cmd,
      iova: a.iova,
      size: a.size,
      granule: a.granule ?? pg,
      pgsize: pgShift,
    });
    if (batch.num > 0) cmdqBatchSubmit(batch);
    return {};
  },
});
