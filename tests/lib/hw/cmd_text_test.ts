import assert from "node:assert/strict";
import { type Codec, fieldFlag, fieldU } from "../../../lib/hw/codec.ts";
import {
  cmdFormat,
  cmdParse,
  cmdParseFull,
  CmdSyntaxError,
  patternToCmd,
} from "../../../lib/hw/cmd_text.ts";

const TOY: Codec = {
  family: "toy command",
  words: 1,
  ops: {
    PING: {
      code: 1,
      fields: {
        id: fieldU(0, 15, 8, { hex: true }),
        urgent: fieldFlag(0, 4),
        slot: { ...fieldU(0, 31, 16), free: true },
      },
    },
  },
  aliases: { P: "PING" },
  opcodeOf: (w) => Number(w[0] & 0xfn),
  opcodeWords: (code) => [BigInt(code & 0xf)],
};

Deno.test("cmdFormat() leaves out defaults and free fields unless full", () => {
  const c = { op: "PING", id: 0x1f, urgent: true, slot: 9 };
  assert.equal(cmdFormat(TOY, c), "PING id=0x1f urgent");
  assert.equal(cmdFormat(TOY, c, { full: true }), "PING id=0x1f urgent slot=9");
  assert.equal(cmdFormat(TOY, { op: "PING", id: 0, urgent: false, slot: 0 }), "PING");
});

Deno.test("cmdParse() reads patterns: values, _ and $NAME, with offsets", () => {
  const p = cmdParse(TOY, "P urgent id=_ slot=$S", { pattern: true });
  assert.equal(p.op, "PING");
  assert.deepEqual(p.fields, {
    urgent: { t: "val", v: true },
    id: { t: "any" },
    slot: { t: "cap", name: "S" },
  });
  assert.deepEqual(p.offsets, { urgent: 2, id: 9, slot: 14 });
});

Deno.test("cmdParseFull() fills defaults; patternToCmd() refuses wildcards", () => {
  assert.deepEqual(cmdParseFull(TOY, "PING id=2"), { op: "PING", id: 2, urgent: false, slot: 0 });
  assert.throws(
    () => patternToCmd(TOY, cmdParse(TOY, "PING id=_", { pattern: true })),
    CmdSyntaxError,
  );
  assert.throws(() => cmdParse(TOY, "PING id=_"), /id="_": expected a number/);
});

Deno.test("cmdParse() errors name the token and its offset", () => {
  const cases: [string, RegExp, number][] = [
    ["PONG", /unknown opcode "PONG"; did you mean "PING"\?/, 0],
    ["PING idd=1", /unknown field "idd"; did you mean "id"\?/, 5],
    ["PING id=1 id=2", /field "id" written twice/, 10],
    ["PING urgent=2", /urgent is a flag/, 12],
    ["PING id", /"id" needs a value/, 5],
    ["", /empty/, 0],
  ];
  for (const [text, re, offset] of cases) {
    try {
      cmdParse(TOY, text);
      assert.fail(`"${text}" parsed`);
    } catch (e) {
      assert.ok(e instanceof CmdSyntaxError, text);
      assert.match(e.message, re);
      assert.equal(e.offset, offset, text);
    }
  }
});
