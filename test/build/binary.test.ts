/**
 * The compiled executable, end to end: build dist/grove fresh (`bun build.ts --only host`), copy it
 * into an empty temporary folder with no node_modules anywhere above it, and drive a real cell
 * with it over loopback: version and build hash, help, put/get of a multi-chunk file through the
 * crypto Workers, the native (embedded libsodium) suite, and local inference with the embedded
 * llama.cpp libraries (unpacked once into GROVE_DIR/llama, reused by the next start).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { sourceHash } from "../../src/core/source-hash.ts";
import { writeTinyModel } from "../fixtures/tiny-gguf.ts";
import { freePort, BUN, ROOT, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { textLines } from "../../src/core/lines.ts";

const HOST = `${process.platform}-${process.arch}`;

let work: string; // the empty folder holding the copied executable
let bin: string;
let cell: TestCell | undefined;
let peer: TestCell | undefined;
let llm: TestCell | undefined;

/** Run the copied executable from its own folder; killed if it outlives `timeoutMs`. */
async function grove(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const p = Bun.spawn([bin, ...args], {
    cwd: work,
    env: { ...process.env, ...env, GROVE_NO_PROGRESS: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

beforeAll(
  async () => {
    // Always a fresh build: a stale dist/grove must never pass for the current sources.
    const out = join(ROOT, "dist", "grove");
    rmSync(out, { force: true });
    const b = Bun.spawn([BUN, join(ROOT, "build.ts"), "--only", "host"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 240_000 });
    const [stdout, stderr, code] = await Promise.all([new Response(b.stdout).text(), new Response(b.stderr).text(), b.exited]);
    if (code !== 0 || !existsSync(out)) throw new Error(`bun build.ts --only host failed (${code}):\n${stdout}\n${stderr}`);

    work = realpathSync(mkdtempSync(join(tmpdir(), "grove-binary-")));
    for (let d = work; ; d = dirname(d)) {
      if (existsSync(join(d, "node_modules")))
        throw new Error(`${d} has a node_modules folder: the test would not prove the executable is self-contained`);
      if (dirname(d) === d) break;
    }
    bin = join(work, "grove");
    copyFileSync(out, bin);
    chmodSync(bin, 0o755);
  },
  { timeout: 300_000 },
);

afterAll(async () => {
  await destroyCell(cell);
  await destroyCell(peer);
  await destroyCell(llm);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("compiled grove executable", () => {
  test("--version prints the version, this source tree's build hash, the target and the build time", async () => {
    const r = await grove(["--version"]);
    expect(r.code).toBe(0);
    const m = /^grove (\S+) build ([0-9a-f]{64}) \(([^)]+)\) built (\S+)$/.exec(r.stdout.trim());
    expect(m).not.toBeNull();
    expect(m![1]).toBe(pkg.version);
    expect(m![2]).toBe(sourceHash(ROOT));
    expect(m![3]).toBe(HOST);
    expect(Number.isNaN(Date.parse(m![4]!))).toBe(false); // the content-derived build time
  });

  test("--help lists the commands", async () => {
    const r = await grove(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: grove COMMAND");
    for (const c of ["start", "status", "id", "put", "get", "ls", "recovery-phrase"]) expect(r.stdout).toContain(`  ${c}`);
  });

  test(
    "a cell started from it stores and returns a 9 MB file with native crypto in the workers",
    async () => {
      cell = await startCell({
        root: mkdtempSync(join(tmpdir(), "grove-binary-cell-")),
        cmd: [bin],
        // crypto "native": the workers must load the embedded addon too (no silent portable fallback);
        // two workers even on a one-core machine, so the Worker entry inside the executable is used;
        // no mDNS: this test talks to loopback only.
        config: { crypto: "native", crypto_workers: 2, mdns: false },
      });
      expect(cell.output()).toContain("crypto: native");

      const data = crypto.getRandomValues(new Uint8Array(9 * 1024 * 1024 + 12_345));
      const src = join(cell.root, "random.bin");
      const dst = join(cell.root, "random.out");
      await Bun.write(src, data);

      const put = await grove(["put", src, "--as", "big/random.bin"], cell.env);
      expect(put.stderr).toBe("");
      expect(put.code).toBe(0);

      const get = await grove(["get", "big/random.bin", "-o", dst], cell.env);
      expect(get.code).toBe(0);
      expect(statSync(dst).size).toBe(data.byteLength);
      const back = new Uint8Array(await Bun.file(dst).arrayBuffer());
      expect(Buffer.compare(back, data)).toBe(0);

      const st = await grove(["status", "--json"], cell.env);
      expect(st.code).toBe(0);
      const status = JSON.parse(st.stdout) as { crypto: string; build: string; target: string; files: number };
      expect(status.crypto).toBe("native");
      expect(status.build).toBe(sourceHash(ROOT));
      expect(status.target).toBe(HOST);
      expect(status.files).toBe(1);
      expect(cell.output()).not.toContain("crypto worker failed");
    },
    { timeout: 120_000 },
  );

  test(
    "its sync Worker replicates to a peer running the same executable",
    async () => {
      expect(cell).toBeDefined();
      peer = await startCell({
        root: mkdtempSync(join(tmpdir(), "grove-binary-peer-")),
        cmd: [bin],
        config: { mdns: false, sync_interval_s: 3600 },
      });
      const token = (await grove(["invite"], cell!.env)).stdout.trim();
      expect((await grove(["join", token], peer.env)).code).toBe(0);
      const sync = await grove(["sync", "--json"], cell!.env);
      expect(sync.stderr).toBe("");
      const report = JSON.parse(sync.stdout) as { reached: number; chunks_pushed: number; under_replicated: number };
      expect(report.reached).toBe(1);
      expect(report.chunks_pushed).toBe(3);
      expect(report.under_replicated).toBe(0);
      expect(cell!.output()).not.toContain("sync worker");
    },
    { timeout: 60_000 },
  );

  test(
    "supervised (--auto-restart), a cell killed with -9 is back on its port within seconds",
    async () => {
      const port = freePort();
      const sup = await startCell({
        root: mkdtempSync(join(tmpdir(), "grove-binary-sup-")),
        cmd: [bin],
        listen: { host: "127.0.0.1", port },
        args: ["--auto-restart"],
        config: { mdns: false, sync_interval_s: 3600 },
        env: { GROVE_RESTART_BACKOFF_MS: "200" },
      });
      try {
        const pid = () => (JSON.parse(readFileSync(join(sup.dir, "cell.json"), "utf8")) as { pid: number }).pid;
        const first = pid();
        expect(first).not.toBe(sup.proc.pid);
        const t0 = Date.now();
        process.kill(first, "SIGKILL");
        let back = false;
        while (!back && Date.now() - t0 < 15_000) {
          await Bun.sleep(50);
          back =
            pid() !== first &&
            (await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: `Bearer ${sup.token}` } }).then(
              (r) => r.ok,
              () => false,
            ));
        }
        console.log(`compiled supervised cell back after ${Date.now() - t0} ms`);
        expect(back).toBe(true);
        expect(Date.now() - t0).toBeLessThan(5000);
      } finally {
        await destroyCell(sup);
      }
    },
    { timeout: 60_000 },
  );
});

/** POST /api/chat on `c`; the streamed NDJSON lines, and when the first token line arrived. */
async function chatLines(c: TestCell, question: string) {
  const t0 = performance.now();
  const res = await c.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question, max_tokens: 12, temperature: 0 }),
  });
  if (!res.ok) throw new Error(`POST /api/chat: ${res.status} ${await res.text()}\n${c.output()}`);
  const lines: Record<string, unknown>[] = [];
  let firstTokenMs: number | null = null;
  for await (const line of textLines(res.body!)) {
    const obj = JSON.parse(line) as Record<string, unknown>;
    if ("token" in obj) firstTokenMs ??= performance.now() - t0;
    lines.push(obj);
  }
  return { lines, firstTokenMs, ms: performance.now() - t0 };
}

/** Wait until the cell's log has `text` (the host's stderr reaches it apart from the answer). */
async function logged(c: TestCell, text: string, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!c.output().includes(text)) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** The model host's pid, from the cell's log ("model host started pid=N"); the latest one. */
function hostPid(c: TestCell): number {
  const all = [...c.output().matchAll(/model host started pid=(\d+)/g)];
  if (!all.length) throw new Error(`no model host in the log:\n${c.output()}`);
  return Number(all.at(-1)![1]);
}

describe("local inference from the compiled executable", () => {
  const config = { llm_threads: 1, ollama_url: "off", mdns: false, sync_interval_s: 3600 };
  let root = "";
  let marker = "";
  let markerStat: { ino: number; mtimeMs: number } | undefined;

  test(
    "a cell answers with a local model: llama.cpp is unpacked from the executable into GROVE_DIR/llama and tokens stream",
    async () => {
      root = mkdtempSync(join(tmpdir(), "grove-binary-llm-"));
      llm = await startCell({ root, cmd: [bin], config });
      mkdirSync(join(llm.dir, "models"), { recursive: true });
      writeTinyModel(join(llm.dir, "models", "tiny.gguf"));

      const r = await chatLines(llm, "What is a cell?");
      const tokens = r.lines.filter((l) => "token" in l);
      expect(tokens.length).toBeGreaterThan(3); // streamed piece by piece
      expect(r.lines.at(-1)).toMatchObject({ done: true, model: "tiny.gguf", tokens: 12 });
      expect(await logged(llm, "llama.cpp libraries unpacked into")).toBe(true);

      // One folder, named for the platform, version and content; complete (its marker is there).
      const base = join(llm.dir, "llama");
      const dirs = readdirSync(base);
      expect(dirs).toHaveLength(1);
      expect(dirs[0]).toMatch(new RegExp(`^${HOST}-\\d+\\.\\d+\\.\\d+-[0-9a-f]{16}$`));
      marker = join(base, dirs[0]!, ".grove-llama.json");
      const st = statSync(marker);
      markerStat = { ino: st.ino, mtimeMs: st.mtimeMs };

      // The host runs llama.cpp from that folder, and nothing from any node_modules.
      expect(await logged(llm, "model host started pid=")).toBe(true);
      const pid = hostPid(llm);
      if (process.platform === "linux") {
        const maps = readFileSync(`/proc/${pid}/maps`, "utf8");
        expect(maps).toContain(join(base, dirs[0]!, "@node-llama-cpp", `${HOST}`, "bins"));
        expect(maps).toMatch(/libllama[^\n]*\.so/);
        expect(maps).not.toContain("/node_modules/");
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
        console.log(
          `compiled: first answer ${r.ms.toFixed(0)} ms (first token after ${r.firstTokenMs?.toFixed(0)} ms, unpacking included); model host RSS ${rss} kB`,
        );
      }
      // `grove ask` through the same executable streams the answer to stdout.
      const ask = await grove(["ask", "And a peer?", "--max-tokens", "6"], llm.env);
      expect(ask.code).toBe(0);
      expect(ask.stdout.trim().split(/\s+/).length).toBeGreaterThanOrEqual(3);
    },
    { timeout: 120_000 },
  );

  test(
    "the next start of the cell reuses the unpacked files (nothing is unpacked again)",
    async () => {
      expect(markerStat).toBeDefined();
      await llm!.stop();
      llm = await startCell({ root, cmd: [bin], config });
      const r = await chatLines(llm, "What is a cell?");
      expect(r.lines.filter((l) => "token" in l).length).toBeGreaterThan(3);
      expect(await logged(llm, "llama.cpp libraries reused from")).toBe(true);
      expect(llm.output()).not.toContain("unpacked into");
      const st = statSync(marker);
      expect({ ino: st.ino, mtimeMs: st.mtimeMs }).toEqual(markerStat!);
      console.log(`compiled: answer after a restart ${r.ms.toFixed(0)} ms (first token after ${r.firstTokenMs?.toFixed(0)} ms)`);
    },
    { timeout: 120_000 },
  );
});
