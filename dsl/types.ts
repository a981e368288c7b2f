/**
 * Small shapes several DSL stages exchange: source positions and diagnostics.
 * @module
 */

/** A 1-based line and column. */
export interface Pos {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
}

/** A span of a spec file. */
export interface SourceRange {
  /** Path of the spec file as the user gave it. */
  readonly file: string;
  /** First character. */
  readonly start: Pos;
  /** One past the last character (same line for a one-line span). */
  readonly end: Pos;
}

/** A path into a spec object: keys and list indices. */
export type SpecPath = readonly (string | number)[];

/** Where spec elements come from: a YAML file, or the TS call that defined the spec. */
export interface SourceLocator {
  /** Spec file shown in messages. */
  readonly file: string;
  /** Full text of the file, for code frames ("" when there is no text, e.g. TS specs). */
  readonly text: string;
  /** The span of the element at `path`, or of its nearest existing ancestor. */
  at(path: SpecPath): SourceRange;
  /** The span of the key of the element at `path` (for unknown keys), else the element's. */
  keyAt(path: SpecPath): SourceRange;
  /** Offset of a scalar's value inside its span: 1 for a quoted scalar, else 0. */
  valueOffset(path: SpecPath): number;
}

/** How serious a diagnostic is: `error` = the spec is wrong, `fail` = an expectation failed. */
export type Severity = "error" | "fail" | "warning";

/** One problem, as data; reporters render it. */
export interface Diagnostic {
  /** Spec error, failed expectation, or warning. */
  readonly severity: Severity;
  /** One line: sentence case, no final period. */
  readonly title: string;
  /** Where it is. */
  readonly range?: SourceRange;
  /** Text shown beside the carets. */
  readonly label?: string;
  /** Extra lines shown after the code frame (a diff, a list of fields). */
  readonly detail?: readonly string[];
  /** What to do next. */
  readonly fixme?: string;
}
