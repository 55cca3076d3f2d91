// The CLI against a real `grove start` process: first run, identity, put/get/ls/status, usage and errors.
import { rotChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, destroyCell, FROM_SOURCE, runGrove, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";

let cell: TestCell;
let work: string;
beforeAll(async () => {
  cell = await startCell();
  work = tempRoot("grove-cli-");
}, 120_000);
afterAll(async () => {
  await destroyCell(cell);
});

describe("first start", () => {
  test("creates the GROVE_DIR tree with 700/600 modes and prints the recovery phrase once", async () => {
    expect(statSync(cell.dir).mode & 0o777).toBe(0o700);
    for (const f of ["root.key", "node.key", "node_x25519.key", ".key", "peer_secret", "api_token"]) {
      expect(statSync(join(cell.dir, f)).mode & 0o777).toBe(0o600);
    }
    for (const d of ["chunks", "manifests", "grants", "invites", "models"]) expect(statSync(join(cell.dir, d)).isDirectory()).toBe(true);
    for (const f of ["node.pub", "node_x25519.pub", "config.json", "placement.db"]) expect(existsSync(join(cell.dir, f))).toBe(true);
    const config = JSON.parse(readFileSync(join(cell.dir, "config.json"), "utf8"));
    expect(config.replication_factor).toBe(2);
    // Not a terminal (a service's output lands in the system log): the words are not printed, the
    // way to get them is.
    expect(cell.output()).toContain("run `grove recovery-phrase` in a terminal");
    const r = await cell.cli(["recovery-phrase", "--json"]);
    expect(r.code).toBe(0);
    const words: string[] = JSON.parse(r.stdout).words;
    expect(words.length).toBe(24);
    expect(cell.output()).not.toContain(words.slice(0, 6).join(" "));
    expect(existsSync(join(cell.dir, ".phrase_shown"))).toBe(true); // shown by the command: no more reminders
  });

  test("on a terminal, the first start shows the 24 words once", async () => {
    const root = tempRoot("grove-tty-");
    const env = { ...process.env, GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home"), GROVE_MDNS: "0" };
    try {
      // `script` gives the cell a pseudo-terminal; the cell is stopped once its banner is out.
      const p = Bun.spawn(["script", "-qec", `${BUN} ${CLI} start --port 0 --peer-port 0`, "/dev/null"], {
        env,
        stdout: "pipe",
        stderr: "pipe",
      });
      let out = "";
      const dec = new TextDecoder();
      for await (const c of p.stdout as unknown as AsyncIterable<Uint8Array>) {
        out += dec.decode(c);
        if (/listening on/.test(out)) break;
      }
      p.kill("SIGTERM");
      await p.exited;
      const words = (await runGrove(FROM_SOURCE, ["recovery-phrase", "--json"], env)).stdout;
      const list: string[] = JSON.parse(words).words;
      for (const w of list) expect(out).toContain(w);
      expect(out).toContain("Write it down");
      expect(existsSync(join(root, "dir", ".phrase_shown"))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a second start of the same GROVE_DIR keeps the identity and does not print the phrase", async () => {
    const id1 = (await cell.cli(["id"])).stdout.trim();
    await cell.stop();
    const again = await startCell({ root: cell.root });
    try {
      expect(again.output()).not.toContain("A new cell was created");
      expect((await again.cli(["id"])).stdout.trim()).toBe(id1);
    } finally {
      await again.stop();
    }
    cell = await startCell({ root: cell.root });
  });
});

describe("a first start that fails", () => {
  test("a busy port: clear error; the phrase is shown on the first start that comes up, then not again", async () => {
    const root = tempRoot("grove-busy-");
    const env = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home"), GROVE_MDNS: "0" };
    const busy = await runGrove(FROM_SOURCE, ["start", "--port", String(cell.port), "--host", "127.0.0.1"], env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`port ${cell.port} on 127.0.0.1 is already in use`);
    const up = await startCell({ root });
    try {
      // The identity was made by the start that failed; this one is the first to come up.
      expect(up.output()).toContain("run `grove recovery-phrase` in a terminal");
      await up.stop();
      const reminded = await startCell({ root });
      expect(reminded.output()).toContain("run `grove recovery-phrase` in a terminal"); // not shown yet: said again
      expect((await reminded.cli(["recovery-phrase"])).code).toBe(0);
      await reminded.stop();
      const again = await startCell({ root });
      expect(again.output()).not.toContain("grove recovery-phrase");
      await again.stop();
    } finally {
      await destroyCell(up);
    }
  });
});

describe("identity", () => {
  test("grove id prints the full id alone; it is the hex of node.pub", async () => {
    const r = await cell.cli(["id"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(r.stdout.trim()).toBe(readFileSync(join(cell.dir, "node.pub"), "utf8").trim());
  });
  test("status --json describes the running cell", async () => {
    const r = await cell.cli(["status", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.id).toBe((await cell.cli(["id"])).stdout.trim());
    expect(s.crypto).toBe(process.platform === "linux" && process.arch === "x64" ? "native" : s.crypto);
    expect(s.build).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("put / get / ls", () => {
  test("a file goes in and comes back byte-identical; ls shows it", async () => {
    const src = join(work, "photo.jpg");
    const data = pseudoRandom(9 * 1024 * 1024 + 17, 21);
    writeFileSync(src, data);
    const put = await cell.cli(["put", src, "--as", "Photos/2026/photo.jpg"]);
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    expect(put.stdout).toContain("stored as version 1");
    expect(put.stdout).toContain("3 chunks (3 new)");
    expect(Buffer.compare(readFileSync(join(cell.home, "Photos/2026/photo.jpg")), data)).toBe(0);

    const out = join(work, "back.jpg");
    const get = await cell.cli(["get", "Photos/2026/photo.jpg", "-o", out]);
    expect(get.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), data)).toBe(0);

    const ls = await cell.cli(["ls", "--json"]);
    const files = JSON.parse(ls.stdout);
    expect(files).toContainEqual(expect.objectContaining({ path: "Photos/2026/photo.jpg", size: data.byteLength, version: 1 }));
    const human = await cell.cli(["ls"]);
    expect(human.stdout).toContain("Photos/2026/photo.jpg");
    expect((await cell.cli(["ls", "Photos", "--json"])).stdout).toContain("photo.jpg");
    expect(JSON.parse((await cell.cli(["ls", "Nope", "--json"])).stdout)).toEqual([]);
  });

  test("putting the same content again changes nothing; new content makes version 2", async () => {
    const src = join(work, "photo.jpg");
    const same = await cell.cli(["put", src, "--as", "Photos/2026/photo.jpg", "--json"]);
    expect(JSON.parse(same.stdout)).toMatchObject({ created: false, version: 1, new_chunks: 0 });
    writeFileSync(join(work, "v2.jpg"), "second version");
    const v2 = await cell.cli(["put", join(work, "v2.jpg"), "--as", "Photos/2026/photo.jpg", "--json"]);
    expect(JSON.parse(v2.stdout)).toMatchObject({ created: true, version: 2 });
    const old = join(work, "old.jpg");
    expect((await cell.cli(["get", "Photos/2026/photo.jpg", "--version", "1", "-o", old])).code).toBe(0);
    expect(statSync(old).size).toBe(9 * 1024 * 1024 + 17);
    const cur = await cell.cli(["get", "Photos/2026/photo.jpg", "-o", "-"]);
    expect(cur.stdout).toBe("second version");
  });

  test("get defaults to the file's name in the current folder; -o DIR puts it inside", async () => {
    const dir = join(work, "into");
    mkdirSync(dir);
    expect((await cell.cli(["get", "Photos/2026/photo.jpg"], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(dir, "photo.jpg"), "utf8")).toBe("second version");
    const d2 = join(work, "into2");
    mkdirSync(d2);
    expect((await cell.cli(["get", "Photos/2026/photo.jpg", "-o", d2])).code).toBe(0);
    expect(readFileSync(join(d2, "photo.jpg"), "utf8")).toBe("second version");
  });

  test("a corrupt chunk: get fails naming the file and chunk, and writes nothing", async () => {
    const src = join(work, "doc.bin");
    writeFileSync(src, pseudoRandom(5 * 1024 * 1024, 5));
    const put = JSON.parse((await cell.cli(["put", src, "--as", "doc.bin", "--json"])).stdout);
    const bad = put.manifest.chunks[1].hash as string;
    rotChunk(cell.dir, bad, 7);
    const out = join(work, "doc.out");
    const r = await cell.cli(["get", "doc.bin", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("doc.bin");
    expect(r.stderr).toContain(bad);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes("doc.out"))).toEqual([]);
  });

  test("errors are one clear line with a non-zero exit", async () => {
    const missing = await cell.cli(["get", "no/such/file.txt", "-o", join(work, "x")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no file at 'no/such/file.txt'");
    const nofile = await cell.cli(["put", join(work, "does-not-exist")]);
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toContain("no such file");
    const trav = await cell.cli(["put", join(work, "v2.jpg"), "--as", "../../escape.txt"]);
    expect(trav.code).not.toBe(0);
    expect(existsSync(join(cell.root, "escape.txt"))).toBe(false);
  });
});

describe("streaming transfers (cell not on this machine, forced with GROVE_CLI_STREAM=1)", () => {
  test("put and get through the HTTP body give the same result as the local path", async () => {
    const env = { ...cell.env, GROVE_CLI_STREAM: "1" };
    const src = join(work, "streamed.bin");
    const data = pseudoRandom(6 * 1024 * 1024 + 5, 77);
    writeFileSync(src, data);
    const put = await runGrove(FROM_SOURCE, ["put", src, "--as", "streamed/s.bin", "--json"], env);
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ created: true, version: 1 });
    const out = join(work, "streamed.out");
    const get = await runGrove(FROM_SOURCE, ["get", "streamed/s.bin", "-o", out], env);
    expect(get.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), data)).toBe(0);
    // The same content through the local path is recognised as unchanged.
    const again = await cell.cli(["put", src, "--as", "streamed/s.bin", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, version: 1 });
  });
});

describe("usage", () => {
  const env = () => ({ GROVE_DIR: join(work, "none", "dir"), GROVE_HOME: join(work, "none", "home") });
  test("--help prints usage and every command has its own --help", async () => {
    const r = await runGrove(FROM_SOURCE, ["--help"], env());
    expect(r.code).toBe(0);
    for (const c of ["start", "status", "id", "put", "get", "ls", "recovery-phrase"]) {
      expect(r.stdout).toContain(c);
      const h = await runGrove(FROM_SOURCE, [c, "--help"], env());
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: grove ${c}`);
    }
  });
  test("an unknown command prints usage and exits 2; a bad flag exits 2", async () => {
    const r = await runGrove(FROM_SOURCE, ["frobnicate"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain("Usage: grove COMMAND");
    const f = await runGrove(FROM_SOURCE, ["ls", "--bogus"], env());
    expect(f.code).toBe(2);
  });
  test("--version prints version and build hash", async () => {
    const r = await runGrove(FROM_SOURCE, ["--version"], env());
    expect(r.stdout).toMatch(/^grove \d+\.\d+\.\d+ build [0-9a-f]{64} /);
  });
  test("with no cell running: a clear message", async () => {
    const root = tempRoot("grove-nocell-");
    const e = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") };
    const r = await runGrove(FROM_SOURCE, ["status"], e);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("grove start");
    // A GROVE_DIR whose cell stopped (api_token exists, nothing listens).
    mkdirSync(join(root, "dir"), { recursive: true });
    writeFileSync(join(root, "dir", "api_token"), "x\n");
    const port = 1 + Math.floor(Math.random() * 1000) + 40000;
    const r2 = await runGrove(FROM_SOURCE, ["ls"], { ...e, GROVE_PORT: String(port) });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`no cell is running at http://127.0.0.1:${port}`);
  });
});

describe("config validation", () => {
  test("a bad config.json value stops the start with a one-line error naming the key; the file is untouched", async () => {
    const root = tempRoot("grove-badcfg-");
    const dir = join(root, "dir");
    mkdirSync(dir, { recursive: true });
    const text = '{ "replication_factor": "lots", "name": "x" }\n';
    writeFileSync(join(dir, "config.json"), text);
    const r = await runGrove(FROM_SOURCE, ["start", "--port", "0", "--host", "127.0.0.1"], {
      GROVE_DIR: dir,
      GROVE_HOME: join(root, "home"),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"replication_factor"');
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe(text);
    expect(existsSync(join(dir, "root.key"))).toBe(false);
    writeFileSync(join(dir, "config.json"), "{ not json");
    const r2 = await runGrove(FROM_SOURCE, ["start", "--port", "0"], { GROVE_DIR: dir, GROVE_HOME: join(root, "home") });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("not valid JSON");
  });
});
