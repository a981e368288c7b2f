/**
 * invspec: a test DSL and runner for IOMMU cache invalidation.
 *
 * Scenario specs declare IOMMUs, devices, domains and steps; invspec runs them over models
 * of the hardware and of the kernel (ARM SMMUv3, iommufd, Intel VT-d, SVA, pKVM) and
 * asserts the exact invalidation commands emitted.
 *
 * This module is the public surface: writing and running specs from TypeScript (the same
 * objects YAML files parse to), the `deno test` helper, reporters, and the SMMUv3 command
 * model with the shared TLBI builders.
 *
 * @example A spec in TypeScript
 * ```ts
 * import { defineSpec, runSpec, step } from "@invspec/invspec";
 * import assert from "node:assert/strict";
 *
 * const spec = defineSpec({
 *   invspec: 1,
 *   name: "8K unmap range on an SMMU with RIL",
 *   iommus: { smmu0: { kind: "smmuv3", features: ["range_inv"] } },
 *   steps: [
 *     step.tlbi_range(
 *       { iommu: "smmu0", cmd: "TLBI_NH_VA asid=1 leaf", iova: 0x40000, size: "8K" },
 *       { expect: ["TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf", "CMD_SYNC"] },
 *     ),
 *   ],
 * });
 * assert.equal(runSpec(spec).scenarios[0].status, "pass");
 * ```
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
  type FieldKind,
  type FieldSpec,
  type FieldValue,
  type OpSpec,
  type OpTable,
  type Simplify,
  type ValueOf,
} from "./lib/hw/codec.ts";
export {
  type CmdPattern,
  CmdSyntaxError,
  type FieldPattern,
  type FormatOptions,
  type ParseOptions,
} from "./lib/hw/cmd_text.ts";
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
  decodeDesc,
  type Desc,
  type DescFor,
  type DescOp,
  type DescWords,
  encodeDesc,
  formatDesc,
  makeDesc,
  parseDesc,
  parseDescPattern,
  VTD_CODEC,
  VTD_OPS,
} from "./lib/hw/vtd/desc.ts";
export {
  type Event,
  type EventLog,
  eventLogCreate,
  type Family,
  type TraceValue,
} from "./lib/events.ts";
export { parseU64 } from "./lib/num.ts";
export {
  type Errno,
  errno,
  ERRNO_NUMBERS,
  ERRNOS,
  type ErrnoValue,
  isErr,
  type Ret,
} from "./lib/errno.ts";

export {
  type CommandLineInput,
  defineSpec,
  type ExpectBlockInput,
  type ExpectInput,
  runSpec,
  type SpecInput,
  specObjectTests,
  step,
  type StepExtras,
  type StepInput,
} from "./dsl/builder.ts";
export { SpecFailure, specTests } from "./dsl/testing.ts";
export {
  type Loaded,
  loadSuite,
  type RunOptions,
  runScenario,
  type Scenario,
  type ScenarioResult,
  type ScenarioStatus,
} from "./dsl/suite.ts";
export { countResults, type Counts, exitCode, type RunReport, summaryLine } from "./dsl/report.ts";
export {
  type Reporter,
  type ReporterName,
  type ReporterOptions,
  REPORTERS,
} from "./dsl/reporters/mod.ts";
export type {
  Diagnostic,
  Pos,
  Severity,
  SourceLocator,
  SourceRange,
  SpecPath,
} from "./dsl/types.ts";
