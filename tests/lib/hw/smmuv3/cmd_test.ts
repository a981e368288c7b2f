import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Cmd,
  decodeCmd,
  encodeCmd,
  formatCmd,
  makeCmd,
  parseCmd,
} from "../../../../lib/hw/smmuv3/cmd.ts";
import { CmdSyntaxError } from "../../../../lib/hw/cmd_text.ts";
import { arbSmmuCmd, PROPERTY_SETTINGS } from "../../../arbitraries.ts";

// Reference encodings: smmuv3.md §1.3 (computed from arm_smmu_cmdq_build_cmd()).
const VECTORS: readonly { name: string; cmd: Cmd; w0: bigint; w1: bigint }[] = [
  {
    name: "NH_VA range, asid 1, 2 pages",
    cmd: makeCmd("TLBI_NH_VA", { asid: 1, scale: 1, leaf: true, ttl: 3, tg: 1, addr: 0x40000n }),
    w0: 0x0001000000100012n,
    w1: 0x0000000000040701n,
  },
  {
    name: "NH_VA non-range, asid 5",
    cmd: makeCmd("TLBI_NH_VA", { asid: 5, leaf: true, addr: 0x40000n }),
    w0: 0x0005000000000012n,
    w1: 0x0000000000040001n,
  },
  {
    name: "EL2_VA range, asid 1",
    cmd: makeCmd("TLBI_EL2_VA", { asid: 1, scale: 1, leaf: true, ttl: 3, tg: 1, addr: 0x40000n }),
    w0: 0x0001000000100022n,
    w1: 0x0000000000040701n,
  },
  {
    name: "S2_IPA range, vmid 3",
    cmd: makeCmd("TLBI_S2_IPA", {
      vmid: 3,
      scale: 1,
      leaf: true,
      ttl: 3,
      tg: 1,
      addr: 0x80000000n,
    }),
    w0: 0x000000030010002an,
    w1: 0x0000000080000701n,
  },
  {
    name: "NH_ASID asid 5",
    cmd: makeCmd("TLBI_NH_ASID", { asid: 5 }),
    w0: 0x0005000000000011n,
    w1: 0n,
  },
  {
    name: "EL2_ASID asid 5",
    cmd: makeCmd("TLBI_EL2_ASID", { asid: 5 }),
    w0: 0x0005000000000021n,
    w1: 0n,
  },
  {
    name: "S12_VMALL vmid 3",
    cmd: makeCmd("TLBI_S12_VMALL", { vmid: 3 }),
    w0: 0x0000000300000028n,
    w1: 0n,
  },
  {
    name: "NH_ALL vmid 3",
    cmd: makeCmd("TLBI_NH_ALL", { vmid: 3 }),
    w0: 0x0000000300000010n,
    w1: 0n,
  },
  {
    name: "ATC_INV sid 0x10, 2 pages",
    cmd: makeCmd("ATC_INV", { sid: 0x10, addr: 0x40000n, size: 1 }),
    w0: 0x0000001000000040n,
    w1: 0x0000000000040001n,
  },
  {
    name: "ATC_INV sid 0x20 ssid 3",
    cmd: makeCmd("ATC_INV", { sid: 0x20, ssv: true, ssid: 3, addr: 0x40000n, size: 1 }),
    w0: 0x0000002000003840n,
    w1: 0x0000000000040001n,
  },
  {
    name: "ATC_INV sid 0x10 all",
    cmd: makeCmd("ATC_INV", { sid: 0x10, size: 52 }),
    w0: 0x0000001000000040n,
    w1: 0x0000000000000034n,
  },
  { name: "CMD_SYNC SEV", cmd: makeCmd("CMD_SYNC"), w0: 0x000000000fc02046n, w1: 0n },
  {
    name: "CMD_SYNC MSI",
    cmd: makeCmd("CMD_SYNC", { cs: 1, msiaddr: 0x80001230n }),
    w0: 0x000000000fc01046n,
    w1: 0x0000000080001230n,
  },
];

Deno.test("encodeCmd() matches every §1.3 reference encoding", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.name, () => {
      assert.deepEqual(encodeCmd(v.cmd), [v.w0, v.w1]);
      assert.deepEqual(decodeCmd([v.w0, v.w1]), v.cmd);
    });
  }
});

Deno.test("formatCmd() gives the canonical text and parseCmd() reads it back", async (t) => {
  const texts: [Cmd, string][] = [
    [VECTORS[0].cmd, "TLBI_NH_VA asid=1 addr=0x40000 scale=1 ttl=3 tg=4K leaf"],
    [VECTORS[9].cmd, "ATC_INV sid=0x20 ssv ssid=3 addr=0x40000 size=1"],
    [VECTORS[11].cmd, "CMD_SYNC"],
    [VECTORS[12].cmd, "CMD_SYNC cs=irq"],
    [makeCmd("CFGI_ALL"), "CFGI_ALL"],
    [makeCmd("TLBI_NSNH_ALL"), "TLBI_NSNH_ALL"],
  ];
  for (const [cmd, text] of texts) {
    await t.step(text, () => {
      assert.equal(formatCmd(cmd), text);
      assert.deepEqual(parseCmd(formatCmd(cmd, { full: true })), cmd);
    });
  }
  assert.equal(formatCmd(VECTORS[12].cmd, { full: true }), "CMD_SYNC cs=irq msiaddr=0x80001230");
});

Deno.test("parseCmd() accepts any field order, explicit defaults, aliases and sizes", () => {
  assert.deepEqual(
    parseCmd("TLBI_NH_VA leaf tg=1 ttl=3 scale=1 addr=256K vmid=0 asid=0x1"),
    VECTORS[0].cmd,
  );
  assert.deepEqual(parseCmd("SYNC"), makeCmd("CMD_SYNC"));
  assert.deepEqual(parseCmd("CMD_SYNC cs=sev msh=3 msiattr=0xf"), makeCmd("CMD_SYNC"));
  assert.deepEqual(parseCmd("CFGI_ALL range=31"), makeCmd("CFGI_ALL"));
});

function syntaxError(text: string): CmdSyntaxError {
  try {
    parseCmd(text);
  } catch (e) {
    if (e instanceof CmdSyntaxError) return e;
    throw e;
  }
  assert.fail(`"${text}" parsed`);
}

Deno.test("parseCmd() names the problem in one line", () => {
  const wide = syntaxError("TLBI_NH_VA asid=70000");
  assert.match(wide.message, /asid 70000 does not fit in 16 bits \(max 65535\)/);
  assert.equal(wide.offset, 16);
  const op = syntaxError("FOO_BAR");
  assert.match(op.message, /unknown opcode "FOO_BAR"/);
  const size = syntaxError("ATC_INV size=x");
  assert.match(size.message, /Cannot parse ATC_INV: size="x": expected a number/);
  assert.equal(size.offset, 13);
  const typo = syntaxError("TLBI_NH_VA asdi=1");
  assert.match(typo.message, /unknown field "asdi"; did you mean "asid"\?/);
  assert.match(syntaxError("TLBI_NH_VA addr=0x40123").message, /not aligned to 0x1000/);
  assert.match(syntaxError("ATC_INV sid").message, /"sid" needs a value/);
  assert.match(syntaxError("CMD_SYNC cs=loud").message, /cs takes none, irq, sev or a number/);
  for (const e of [wide, op, size, typo]) assert.doesNotMatch(e.message, /\n/);
});

Deno.test("encodeCmd() refuses values that do not fit instead of truncating", () => {
  const bad = { ...makeCmd("TLBI_NH_VA"), scale: 32 };
  assert.throws(() => encodeCmd(bad), /scale 32 does not fit in 5 bits/);
  const unaligned = makeCmd("ATC_INV", { addr: 0x40010n });
  assert.throws(() => encodeCmd(unaligned), /not aligned/);
});

Deno.test("decodeCmd() rejects unknown opcodes and stray bits", () => {
  assert.throws(() => decodeCmd([0x07n, 0n]), /unknown opcode 0x7/);
  assert.throws(
    () => decodeCmd([0x46n | (1n << 14n), 0n]),
    /bits 0x4000 of word 0 are not part of any field/,
  );
  assert.throws(() => decodeCmd([0x10n | 1n << 8n, 0n]), /bits 0x100 of word 0/);
});

Deno.test("text → command → words → command → text is the identity", () => {
  fc.assert(
    fc.property(arbSmmuCmd, (cmd) => {
      const words = encodeCmd(cmd);
      const back = decodeCmd(words);
      assert.deepEqual(back, cmd);
      const text = formatCmd(back, { full: true });
      assert.deepEqual(parseCmd(text), cmd);
      assert.equal(formatCmd(parseCmd(text), { full: true }), text);
    }),
    PROPERTY_SETTINGS,
  );
});
