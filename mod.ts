/**
 * invspec: a test DSL and runner for IOMMU cache invalidation.
 *
 * Scenario specs declare IOMMUs, devices, domains and steps; invspec runs them over models
 * of the hardware and of the kernel (ARM SMMUv3, iommufd, Intel VT-d, SVA, pKVM) and
 * asserts the exact invalidation commands emitted.
 *
 * This module is the public surface: the SMMUv3 command model and the shared TLBI builders.
 *
 * @example Parse, encode and print an SMMUv3 command
 * ```ts
 * import { encodeCmd, formatCmd, parseCmd } from "@invspec/invspec";
 * import assert from "node:assert/strict";
 *
 * const cmd = parseCmd("TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf");
 * assert.deepEqual(encodeCmd(cmd), [0x0001000000100012n, 0x0000000000040701n]);
 * assert.equal(formatCmd(cmd), "TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf");
 * ```
 *
 * @module
 */

export {
  ATC_INV_SIZE_ALL,
  type Cmd,
  type CmdFor,
  type CmdOp,
  CMDQ_TLBI_RANGE_NUM_MAX,
  type CmdWords,
  decodeCmd,
  encodeCmd,
  formatCmd,
  makeCmd,
  parseCmd,
  parseCmdPattern,
  SMMU_OPS,
} from "./lib/hw/smmuv3/cmd.ts";
export {
  type AnyCmdOf,
  type CmdLike,
  type CmdOf,
  type CmdPattern,
  CmdSyntaxError,
  type FieldKind,
  type FieldPattern,
  type FieldSpec,
  type FieldValue,
  type FormatOptions,
  type OpSpec,
  type OpTable,
  type ParseOptions,
  type Simplify,
  type ValueOf,
} from "./lib/hw/codec.ts";
export {
  type Cmdq,
  SMMU_FEATURES,
  SMMU_OPTIONS,
  smmuCreate,
  type SmmuCreateOptions,
  type SmmuDevice,
  type SmmuFeature,
  type SmmuOption,
} from "./lib/hw/smmuv3/smmu.ts";
export {
  CMDQ_BATCH_ENTRIES,
  type CmdqBatch,
  cmdqBatchAdd,
  cmdqBatchInit,
  cmdqBatchSubmit,
  cmdqIssueCmd,
  cmdqIssueCmdWithSync,
} from "./lib/hw/smmuv3/cmdq.ts";
export {
  type AddRangeOptions,
  type AtcInvOptions,
  atcInvToCmd,
  cmdqBatchAddRange,
  invSizeTooBig,
  tlbiNsizeCmd,
  type TlbiRangeCmd,
} from "./lib/tlbi/mod.ts";
export {
  type Event,
  type EventLog,
  eventLogCreate,
  type Family,
  type TraceValue,
} from "./lib/events.ts";
export { parseU64 } from "./lib/num.ts";
