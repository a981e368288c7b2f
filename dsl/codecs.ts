/**
 * The command families a queue can carry, and how an expectation line picks its family:
 * by the queue it names, else by its opcode (opcode names differ between families).
 * @module
 */

import { cmdEncode, type CmdLike, type Codec } from "../lib/hw/codec.ts";
import { cmdFormat, cmdParse, type CmdPattern } from "../lib/hw/cmd_text.ts";
import { SMMU_CODEC } from "../lib/hw/smmuv3/cmd.ts";
import { type Desc, encodeDesc, VTD_CODEC } from "../lib/hw/vtd/desc.ts";
import type { Family } from "../lib/events.ts";

/** Codec per family. Families without a model yet are absent. */
export const CODECS: Partial<Record<Family, Codec>> = {
  smmuv3: SMMU_CODEC,
  vtd: VTD_CODEC,
};

/** The IOMMU kind whose queue carries each family. */
export const FAMILY_OF_KIND: Readonly<Record<string, Family>> = {
  smmuv3: "smmuv3",
  vtd: "vtd",
};

/** The families whose codec knows `op` (after aliases). */
export function familiesOfOp(op: string): Family[] {
  const out: Family[] = [];
  for (const [fam, codec] of Object.entries(CODECS) as [Family, Codec][]) {
    if (op in codec.ops || (codec.aliases && op in codec.aliases)) out.push(fam);
  }
  return out;
}

/** Canonical text of a recorded command. */
export function formatAny(family: Family, cmd: CmdLike, full = false): string {
  const codec = CODECS[family];
  return codec ? cmdFormat(codec, cmd, { full }) : cmd.op;
}

/**
 * The words of a recorded command, bit-exact. VT-d device-TLB descriptors keep their size
 * and PF source id as logical fields, so they go through the family's own encoder.
 */
export function encodeAny(family: Family, cmd: CmdLike): bigint[] {
  if (family === "vtd") return encodeDesc(cmd as unknown as Desc);
  const codec = CODECS[family];
  return codec ? cmdEncode(codec, cmd) : [];
}

/** Parses an expectation line of a known family (wildcards and captures allowed). */
export function parsePatternOf(family: Family, text: string): CmdPattern {
  const codec = CODECS[family];
  if (!codec) throw new Error(`invspec bug: no codec for family ${family}`);
  return cmdParse(codec, text, { pattern: true });
}
