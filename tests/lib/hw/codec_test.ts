import assert from "node:assert/strict";
import {
  cmdDecode,
  cmdEncode,
  type Codec,
  fieldAddr,
  fieldFlag,
  fieldProblem,
  fieldU,
  opFields,
} from "../../../lib/hw/codec.ts";

// A two-opcode family written for this test: opcode in word0[3:0].
const TOY: Codec = {
  family: "toy command",
  words: 2,
  ops: {
    PING: { code: 1, fields: { id: fieldU(0, 15, 8), urgent: fieldFlag(0, 4) } },
    MOVE: { code: 2, fields: { to: fieldAddr(1, 63, 12), n: fieldU(0, 23, 16, { def: 3 }) } },
  },
  opcodeOf: (w) => Number(w[0] & 0xfn),
  opcodeWords: (code) => [BigInt(code & 0xf), 0n],
};

Deno.test("cmdEncode() and cmdDecode() place every field at its bits", () => {
  const ping = { op: "PING", id: 0xab, urgent: true };
  assert.deepEqual(cmdEncode(TOY, ping), [0xab11n, 0n]);
  assert.deepEqual(cmdDecode(TOY, [0xab11n, 0n]), ping);
  const move = { op: "MOVE", to: 0x5000n, n: 3 };
  assert.deepEqual(cmdEncode(TOY, move), [0x30002n, 0x5000n]);
  assert.deepEqual(cmdDecode(TOY, [0x30002n, 0x5000n]), move);
});

Deno.test("cmdEncode() refuses values that do not fit; cmdDecode() refuses stray bits", () => {
  assert.throws(
    () => cmdEncode(TOY, { op: "PING", id: 256, urgent: false }),
    /id 256 does not fit in 8 bits/,
  );
  assert.throws(() => cmdEncode(TOY, { op: "MOVE", to: 0x5010n, n: 0 }), /not aligned to 0x1000/);
  assert.throws(
    () => cmdEncode(TOY, { op: "PING", id: 1, urgent: false, extra: 1 }),
    /PING has no field "extra"/,
  );
  assert.throws(() => cmdDecode(TOY, [0x21n, 0n]), /bits 0x20 of word 0/);
  assert.throws(() => cmdDecode(TOY, [0x7n, 0n]), /unknown opcode 0x7/);
});

Deno.test("fieldProblem() names kind, width and alignment problems", () => {
  assert.equal(fieldProblem("id", fieldU(0, 7, 0), 255), undefined);
  assert.match(fieldProblem("id", fieldU(0, 7, 0), -1) ?? "", /non-negative integer/);
  assert.match(fieldProblem("f", fieldFlag(0, 1), 1) ?? "", /must be a flag/);
  assert.match(
    fieldProblem("to", fieldAddr(1, 51, 12), 1n << 52n) ?? "",
    /does not fit in bits \[51:12\]/,
  );
});

Deno.test("opFields() lists fields in table order", () => {
  assert.deepEqual(opFields(TOY, "PING"), ["id", "urgent"]);
  assert.deepEqual(opFields(TOY, "NOPE"), []);
});
