/**
 * `deno test` integration: spec text → one `Deno.TestDefinition` per scenario and matrix
 * cell, with a `t.step` per spec step, so plain `deno test` runs shared suites and its
 * reporters name the YAML file and line.
 * @module
 */

import { renderDiagnostic } from "./frame.ts";
import { loadSuite, runScenario } from "./suite.ts";

/** Thrown by a failing step: the rendered diagnostics, without a stack. */
export class SpecFailure extends Error {
  /** A failure whose message is the rendered diagnostics. */
  constructor(message: string) {
    super(message);
    this.name = "SpecFailure";
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * The tests of one spec file. Call `Deno.test` on each from the test module itself, so
 * JUnit and TAP attribute them to that module:
 *
 * ```ts ignore
 * import src from "./unmap.inv.yaml" with { type: "text" };
 * for (const t of specTests("examples/smmuv3/unmap.inv.yaml", src)) Deno.test(t);
 * ```
 *
 * A file with spec errors gives one failing test, `<file> › (spec error)`; the module
 * never throws at load time, so the other files still run.
 */
export function specTests(file: string, text: string): Deno.TestDefinition[] {
  const loaded = loadSuite([{ file, text }]);
  const out: Deno.TestDefinition[] = [];
  if (loaded.specErrors.length) {
    const msg = loaded.specErrors.flatMap((d) => renderDiagnostic(d, loaded.sources)).join("\n");
    out.push({
      name: `${file} › (spec error)`,
      fn: () => {
        throw new SpecFailure(msg);
      },
    });
  }
  for (const scn of loaded.scenarios) {
    const head = scn.spec.head;
    out.push({
      name: `${scn.fullName}${head.tags?.length ? ` {${head.tags.join(",")}}` : ""}`,
      ignore: head.skip !== undefined,
      only: head.only ?? false,
      fn: async (t) => {
        const r = runScenario(scn, { updateHint: file });
        for (const st of r.steps) {
          const line = scn.spec.locator.at(st.step.path).start.line;
          await t.step(`${st.title} (L${line})`, () => {
            if (st.status === "fail" && r.status !== "xfail") {
              throw new SpecFailure(
                st.failures.flatMap((d) => renderDiagnostic(d, loaded.sources)).join("\n"),
              );
            }
          });
        }
        if (r.errors.length) {
          throw new SpecFailure(
            r.errors.flatMap((d) => renderDiagnostic(d, loaded.sources)).join("\n"),
          );
        }
        if (r.status === "xpass") {
          throw new SpecFailure(`XPASS: marked xfail "${r.reason}" but passed`);
        }
      },
    });
  }
  return out;
}
