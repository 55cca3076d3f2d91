/**
 * `grove start --auto-restart` from source (the compiled executable is tested the same way in
 * test/build/binary.test.ts): kill -9 of the cell brings it back on the same port within seconds
 * with its data; SIGTERM to the supervisor stops both; a cell that cannot start is given up on
 * after five fast deaths, with a line saying so.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, BUN, CLI, ROOT, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";

let cell: TestCell | undefined;
afterAll(async () => destroyCell(cell));

const childPid = (c: TestCell) => (JSON.parse(readFileSync(join(c.dir, "cell.json"), "utf8")) as { pid: number }).pid;

test("kill -9 of a supervised cell: back on the same port within seconds, with its files; SIGTERM stops both", async () => {
  const port = freePort();
  cell = await startCell({ listen: { host: "127.0.0.1", port }, args: ["--auto-restart"], env: { GROVE_RESTART_BACKOFF_MS: "200" } });
  const src = join(cell.root, "keep.txt");
  writeFileSync(src, "still here\n");
  expect((await cell.cli(["put", src, "--as", "keep.txt"])).code).toBe(0);
  const first = childPid(cell);
  expect(first).not.toBe(cell.proc.pid); // the cell is the supervisor's child
  const t0 = Date.now();
  process.kill(first, "SIGKILL");
  let back = false;
  while (!back && Date.now() - t0 < 15_000) {
    await Bun.sleep(50);
    try {
      back =
        childPid(cell) !== first &&
        (await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: `Bearer ${cell.token}` } })).ok;
    } catch {}
  }
  const took = Date.now() - t0;
  console.log(`supervisor: cell back after ${took} ms`);
  expect(back).toBe(true);
  expect(took).toBeLessThan(5000);
  expect(await (await cell.api("/api/files/keep.txt")).text()).toBe("still here\n");
  expect(cell.output()).toContain("supervisor: the cell ended (killed by SIGKILL)");
  const second = childPid(cell);
  cell.proc.kill("SIGTERM");
  expect(await cell.proc.exited).toBe(0);
  expect(() => process.kill(second, 0)).toThrow(); // the cell is gone too
});

test("a cell that cannot start is given up on after five fast deaths", async () => {
  const blocker = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const root = tempRoot();
  try {
    const p = Bun.spawn([BUN, CLI, "start", "--auto-restart", "--port", String(blocker.port), "--host", "127.0.0.1"], {
      cwd: ROOT,
      env: {
        ...process.env,
        GROVE_DIR: join(root, "dir"),
        GROVE_HOME: join(root, "home"),
        GROVE_MDNS: "0",
        GROVE_RESTART_BACKOFF_MS: "50",
      },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(1);
    expect(out + err).toContain("already in use");
    expect(out + err).toMatch(/died 5 times in a row within 10 s of starting \(last: exit code 1\); giving up/);
  } finally {
    blocker.stop(true);
    const { rmSync } = await import("node:fs");
    rmSync(root, { recursive: true, force: true });
  }
}, 60_000);
