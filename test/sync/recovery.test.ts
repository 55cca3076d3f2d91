/**
 * Fleet backup and recovery with real cells: A's manifests are backed up to B sealed to A; A is
 * lost; `grove recover --invite TOKEN` with A's 24 words in an empty GROVE_DIR, then `grove
 * start`, rejoins through B, pulls the manifests and chunks back, and every file comes back
 * byte-identical, history included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, destroyCell, runGrove, FROM_SOURCE, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import type { SyncReport } from "../../src/sync/round.ts";

const config = { replication_factor: 2, sync_interval_s: 3600 };
let a: TestCell | undefined, b: TestCell | undefined, a2: TestCell | undefined;
const files = new Map<string, Uint8Array>();
let phrase = "";
let aId = "";

beforeAll(async () => {
  [a, b] = await Promise.all([startCell({ config }), startCell({ config })]);
  const token = (await a.cli(["invite"])).stdout.trim();
  expect((await b.cli(["join", token])).code).toBe(0);
  files.set("big.bin", pseudoRandom(9 * 1024 * 1024 + 3, 11));
  files.set("notes/today.txt", new TextEncoder().encode("first version\n"));
  files.set("notes/today.txt#2", new TextEncoder().encode("second version, longer\n"));
  files.set("empty.txt", new Uint8Array(0));
  for (const [k, v] of files) {
    const src = join(a.root, "src.bin");
    writeFileSync(src, v);
    expect((await a.cli(["put", src, "--as", k.replace(/#\d$/, "")])).code).toBe(0);
  }
  const s = JSON.parse((await a.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(s.chunks_pushed).toBeGreaterThan(0);
  expect(s.backups_pushed).toBeGreaterThan(0);
  phrase = JSON.parse((await a.cli(["recovery-phrase", "--json"])).stdout).phrase;
  aId = (await a.cli(["id"])).stdout.trim();
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(a2)]);
});

describe("recovery from the fleet", () => {
  test("the peer keeps A's manifests only as sealed blobs", async () => {
    const { Database } = await import("bun:sqlite");
    const db = new Database(join(b!.dir, "placement.db"), { readonly: true });
    try {
      const rows = db.query("SELECT name, kind, data FROM backups WHERE owner = ?").all(aId) as {
        name: string;
        kind: string;
        data: Uint8Array;
      }[];
      expect(rows.filter((r) => r.kind === "manifest").length).toBe(4);
      expect(rows.filter((r) => r.kind === "index").length).toBe(1);
      for (const r of rows) {
        const text = Buffer.from(r.data).toString("latin1");
        expect(text).not.toContain("today.txt");
        expect(text).not.toContain("source_path");
      }
    } finally {
      db.close();
    }
  });

  test("recover refuses bad input and a GROVE_DIR that already holds a cell", async () => {
    const token = (await b!.cli(["invite"])).stdout.trim();
    const scratch = tempRoot();
    const env = { GROVE_DIR: join(scratch, "dir"), GROVE_HOME: join(scratch, "home") };
    const noInvite = await runGrove(FROM_SOURCE, ["recover"], env, { stdin: phrase });
    expect(noInvite.code).toBe(2);
    expect(noInvite.stderr).toContain("--invite");
    // Real words in an order whose checksum fails (a reversed phrase alone passes 1 time in 256).
    const words = phrase.split(" ");
    let shuffled = [...words].reverse();
    for (let i = 1; validateMnemonic(shuffled.join(" "), wordlist); i++) shuffled = [...words.slice(i), ...words.slice(0, i)].reverse();
    const badWords = await runGrove(FROM_SOURCE, ["recover", "--invite", token], env, { stdin: shuffled.join(" ") });
    expect(badWords.code).toBe(1);
    expect(badWords.stderr).toMatch(/not valid|checksum/);
    const badToken = await runGrove(FROM_SOURCE, ["recover", "--invite", "grove1.nonsense"], env, { stdin: phrase });
    expect(badToken.code).toBe(2);
    const occupied = await runGrove(FROM_SOURCE, ["recover", "--invite", token], a!.env, { stdin: phrase });
    expect(occupied.code).toBe(1);
    expect(occupied.stderr).toContain("already holds a cell");
    rmSync(scratch, { recursive: true, force: true });
  });

  test("on a terminal, recover asks for the words", async () => {
    const token = (await b!.cli(["invite"])).stdout.trim();
    const scratch = tempRoot();
    const env = { ...process.env, GROVE_DIR: join(scratch, "dir"), GROVE_HOME: join(scratch, "home"), GROVE_NO_PROGRESS: "1" };
    // `script` gives the command a pseudo-terminal; what we write to it is typed at the prompt.
    const cmd = `${BUN} ${CLI} recover --invite ${token}`;
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    let out = "";
    const reading = (async () => {
      for await (const c of p.stdout as unknown as AsyncIterable<Uint8Array>) out += new TextDecoder().decode(c);
    })();
    // Type only once the prompt is up (the terminal is in raw mode by then: no echo).
    for (let i = 0; i < 200 && !out.includes("not shown as you type"); i++) await Bun.sleep(25);
    p.stdin.write(phrase + "\r");
    await p.stdin.end();
    const code = await p.exited;
    await reading;
    expect(out).toContain("Recovery phrase (24 words, not shown as you type):");
    // The words are not echoed back to the terminal. Whole words, outside the prompt: a random
    // phrase may hold "phrase" itself (a BIP-39 word), which the prompt prints.
    const printed = out.replace("Recovery phrase (24 words, not shown as you type):", "");
    const echoed = phrase.split(" ").filter((w) => w.length > 5 && new RegExp(`\\b${w}\\b`).test(printed));
    expect(echoed).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain(`Recovered cell ${aId.slice(0, 8)}`);
    rmSync(scratch, { recursive: true, force: true });
  });

  test("A is lost; recovered into an empty GROVE_DIR it gets every file back byte-identical", async () => {
    await destroyCell(a);
    a = undefined;
    const token = (await b!.cli(["invite"])).stdout.trim();
    const root = tempRoot();
    const env = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") };
    // The words as `grove recovery-phrase` prints them (numbered) work too.
    const numbered = phrase
      .split(" ")
      .map((w, i) => `${i + 1}. ${w}`)
      .join("\n");
    const rec = await runGrove(FROM_SOURCE, ["recover", "--invite", token], env, { stdin: numbered });
    expect(rec.stderr).toBe("");
    expect(rec.code).toBe(0);
    expect(rec.stdout).toContain(aId.slice(0, 8));

    a2 = await startCell({ root, config }); // destroyCell(a2) removes `root`
    expect((await a2.cli(["id"])).stdout.trim()).toBe(aId);
    // The start's first round restores; `grove sync` waits for a round after it.
    const r = JSON.parse((await a2.cli(["sync", "--json"])).stdout) as SyncReport;
    expect(r.errors).toEqual([]);
    expect(r.under_replicated).toBe(0);
    expect(r.missing).toBe(0);
    expect(r.recovering).toBe(false);
    expect(existsSync(join(a2.dir, "recovering.json"))).toBe(false);
    expect(a2.output()).toContain("rejoined the fleet");

    for (const [k, v] of files) {
      if (k === "notes/today.txt") continue; // replaced by version 2
      const out = join(root, "out.bin");
      const g = await a2.cli(["get", k.replace(/#\d$/, ""), "-o", out]);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), Buffer.from(v))).toBe(0);
    }
    // History came back too: version 1 of the note is still there.
    const v1 = await a2.api("/api/files/notes/today.txt?version=1");
    expect(v1.status).toBe(200);
    expect(await v1.text()).toBe("first version\n");
    const ls = JSON.parse((await a2.cli(["ls", "--json"])).stdout) as { path: string }[];
    expect(ls.map((x) => x.path).sort()).toEqual(["big.bin", "empty.txt", "notes/today.txt"]);
    rmSync(join(root, "out.bin"), { force: true });
  });
});
