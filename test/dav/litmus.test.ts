/**
 * WebDAV conformance: Debian's `litmus` (its basic, copymove, props and locks suites) against a
 * real cell's /dav/, the API token as the password. Skipped, loudly, without litmus
 * (apt-get install -y litmus; .ci/run installs it).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const LITMUS = "/usr/bin/litmus";
const HAVE_LITMUS = existsSync(LITMUS);
const SUITES = ["basic", "copymove", "props", "locks"];
if (!HAVE_LITMUS) console.warn(`litmus tests skipped: ${LITMUS} not found (apt-get update && apt-get install -y litmus)`);

let cell: TestCell | undefined;
let work = "";
beforeAll(async () => {
  if (!HAVE_LITMUS) return;
  cell = await startCell();
  work = mkdtempSync(join(tmpdir(), "grove-litmus-")); // litmus writes debug.log where it runs
});
afterAll(async () => {
  await destroyCell(cell);
  if (work) rmSync(work, { recursive: true, force: true });
});

test.skipIf(!HAVE_LITMUS)(
  "litmus: basic, copymove, props and locks all pass",
  async () => {
    const p = Bun.spawn([LITMUS, `${cell!.url}/dav/`, "grove", cell!.token], {
      cwd: work,
      env: { ...process.env, TESTS: SUITES.join(" ") },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const summaries = out.split("\n").filter((l) => l.startsWith("<- summary"));
    console.log(summaries.join("\n"));
    const failures = out.split("\n").filter((l) => /FAIL/.test(l));
    expect(failures).toEqual([]);
    expect(code, err).toBe(0);
    for (const s of SUITES) expect(summaries.find((l) => l.includes(`\`${s}'`)) ?? `no summary for ${s}`).toMatch(/ 0 failed\. 100\.0%$/);
  },
  120_000,
);
