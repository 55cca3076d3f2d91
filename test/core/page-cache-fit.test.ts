/**
 * core/direct-io fitsPageCache: a file is read through the page cache (and read again from there)
 * only when it takes at most a quarter of the memory, and in a memory-limited cgroup the limit is
 * the memory. The cgroup case runs a real process in a cgroup this test makes (root, cgroup v1
 * or v2 memory controller); skipped otherwise.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import { fitsPageCache } from "../../src/core/direct-io.ts";
import { BUN, ROOT } from "../helpers/cell.ts";

const GiB = 1024 ** 3;

/** A fresh memory cgroup limited to `limit` bytes: its folder and the file that takes a pid. */
function memoryCgroup(limit: number): { dir: string; procs: string } | null {
  if (process.getuid?.() !== 0) return null;
  const name = `grove-test-${process.pid}`;
  try {
    if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
      const dir = join("/sys/fs/cgroup/memory", name);
      mkdirSync(dir);
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(limit));
      return { dir, procs: join(dir, "cgroup.procs") };
    }
    if (existsSync("/sys/fs/cgroup/cgroup.controllers") && readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").includes("memory")) {
      const dir = join("/sys/fs/cgroup", name);
      mkdirSync(dir);
      writeFileSync(join(dir, "memory.max"), String(limit));
      return { dir, procs: join(dir, "cgroup.procs") };
    }
  } catch {
    return null;
  }
  return null;
}

const cg = totalmem() > 8 * GiB ? memoryCgroup(1 * GiB) : null;
afterAll(() => {
  if (cg) rmdirSync(cg.dir);
});

test("a quarter of this machine's memory is the limit outside a container", () => {
  expect(fitsPageCache(1024 * 1024)).toBe(true);
  expect(fitsPageCache(Math.floor(totalmem() / 4))).toBe(true);
  expect(fitsPageCache(Math.floor(totalmem() / 4) + 1)).toBe(false);
});

test.skipIf(!cg)("in a cgroup limited to 1 GiB, 256 MiB fits and 300 MiB does not (the host has far more)", () => {
  const probe = `import { fitsPageCache } from "${join(ROOT, "src/core/direct-io.ts")}"; console.log(JSON.stringify([fitsPageCache(256 * 1024 * 1024), fitsPageCache(300 * 1024 * 1024)]));`;
  // The shell joins the cgroup, then becomes bun: the probe runs inside it from its first instruction.
  const p = Bun.spawnSync(["sh", "-c", `echo $$ > ${cg!.procs} && exec ${BUN} -e '${probe}'`], { stdout: "pipe", stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  expect(JSON.parse(p.stdout.toString())).toEqual([true, false]);
  expect(fitsPageCache(300 * 1024 * 1024)).toBe(true); // this process, outside it
});
