/**
 * ANSI colours for terminals. The CLI uses them only on a TTY and never with NO_COLOR.
 * @module
 */

import type { Paint } from "./frame.ts";

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;

/** Colour hooks writing ANSI escape codes. */
export const ansiPaint: Paint = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  blue: wrap(34, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};
