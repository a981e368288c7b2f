import assert from "node:assert/strict";
import { U64_MAX } from "../../../lib/bits.ts";
import { eventLogCreate } from "../../../lib/events.ts";
import { makeCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate } from "../../../lib/hw/smmuv3/smmu.ts";
import { invSizeTooBig, tlbiNsizeCmd } from "../../../lib/tlbi/nsize.ts";

const noRil = smmuCreate("a", eventLogCreate());
const ril = smmuCreate("b", eventLogCreate(), { features: ["range_inv"] });

// smmuv3.md §3: thresholds without RIL are MAX_TLBI_OPS = granule/8 commands.
Deno.test("invSizeTooBig() matches the §3 thresholds", async (t) => {
  const rows: [string, typeof noRil, bigint, bigint, boolean][] = [
    ["511 x 4K", noRil, 0x1ff000n, 0x1000n, false],
    ["512 x 4K", noRil, 0x200000n, 0x1000n, true],
    ["2048 x 16K", noRil, 0x2000000n, 0x4000n, true],
    ["2047 x 16K", noRil, 0x1ffc000n, 0x4000n, false],
    ["8192 x 64K", noRil, 0x20000000n, 0x10000n, true],
    ["8191 x 64K", noRil, 0x1fff0000n, 0x10000n, false],
    ["2^18 x 2M", noRil, 0x8000000000n, 0x200000n, true],
    ["2^18 - 1 x 2M", noRil, 0x7fffe00000n, 0x200000n, false],
    ["size 0 without RIL", noRil, 0n, 0n, true],
    ["SIZE_MAX without RIL", noRil, U64_MAX, 0x1000n, true],
    ["size 0 with RIL", ril, 0n, 0n, true],
    ["SIZE_MAX with RIL", ril, U64_MAX, 0x1000n, true],
    ["1 TiB with RIL", ril, 1n << 40n, 0x1000n, false],
  ];
  for (const [name, smmu, size, granule, want] of rows) {
    await t.step(name, () => assert.equal(invSizeTooBig(smmu, size, granule), want));
  }
});

Deno.test("tlbiNsizeCmd() maps each range opcode to its whole-tag opcode", () => {
  assert.deepEqual(
    tlbiNsizeCmd(makeCmd("TLBI_NH_VA", { asid: 1, leaf: true })),
    makeCmd("TLBI_NH_ASID", { asid: 1 }),
  );
  assert.deepEqual(
    tlbiNsizeCmd(makeCmd("TLBI_EL2_VA", { asid: 9 })),
    makeCmd("TLBI_EL2_ASID", { asid: 9 }),
  );
  assert.deepEqual(
    tlbiNsizeCmd(makeCmd("TLBI_S2_IPA", { vmid: 3, leaf: true })),
    makeCmd("TLBI_S12_VMALL", { vmid: 3 }),
  );
});
