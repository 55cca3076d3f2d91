/**
 * Names from others, attacked with real cells. A is B's friend and names what it shares as it
 * likes: `.bashrc` (an ordinary share of a file so named), `../../x` and names with terminal
 * escapes or bidi overrides (forged: grants signed with A's own keys, read from its GROVE_DIR,
 * and recorded in A's database so A serves them as it serves its own shares). `grove feed get`
 * on B never writes a hidden file, never writes outside its folder, never replaces a file
 * without --force; grants and cards whose names carry control characters are refused with a
 * 400, logged, and change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend } from "../helpers/friends.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import type { CellKeys } from "../../src/crypto/keys.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { decodeToken } from "../../src/fleet/invite-token.ts";
import { makeGrant, type Grant } from "../../src/protocol/grant.ts";
import { makeCard, type Card } from "../../src/protocol/card.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { signedBytes } from "../../src/protocol/signed-object.ts";
import { JOIN_INFO, SHARE_INFO } from "../../src/protocol/labels.ts";
import { deriveFileKey, deriveIdentity, sign } from "../../src/crypto/keys.ts";
import { fromHex, toHex, type CellId, type ManifestHash } from "../../src/core/types.ts";
import { info as syncInfo } from "../../src/sync/wire.ts";
import type { Manifest } from "../../src/store/manifest.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";
import type { PeerView } from "../../src/api/types.ts";

const config = { sync_interval_s: 3600 };
const SHARED = "the friend's bytes\n";
let a: TestCell, b: TestCell;
let aKeys: CellKeys, bKeys: CellKeys;
let manifest: Manifest, manifestHash: ManifestHash;

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
const dec = new TextDecoder();
const ESC = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

beforeAll(async () => {
  [a, b] = await Promise.all([startCell({ config }), startCell({ config })]);
  await pair(a, b);
  [aKeys, bKeys] = [keysOf(a), keysOf(b)];
  await befriend(a, b);
  const src = join(a.root, "dotfile");
  writeFileSync(src, SHARED);
  expect((await a.cli(["put", src, "--as", ".bashrc"])).code).toBe(0);
  const meta = (await (await a.api("/api/files/.bashrc?meta")).json()) as { manifest: Manifest; current: { manifest_hash: ManifestHash } };
  manifest = meta.manifest;
  manifestHash = meta.current.manifest_hash;
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b].map(destroyCell));
});

/** A fresh folder under B's root to run `grove feed get` in, with these files already there. */
function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(b.root, "cwd", name);
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  return dir;
}

/** A grant by A for B of A's stored file under `filename`, signed with A's key. */
async function forge(filename: string): Promise<{ grant: Grant; pass: unknown; id: string }> {
  return makeGrant({
    creatorSecret: aKeys.ed25519Secret,
    creator: aKeys.id,
    recipient: bKeys.id,
    recipientX25519: bKeys.x25519Public,
    manifestHash,
    fileKey: deriveFileKey(aKeys.masterKey, manifest.file_hash),
    chunks: manifest.chunks.map((c) => c.hash),
    filename,
    fileType: "text/plain",
    totalSize: manifest.total_size,
    expiresAt: null,
  });
}

/** A modified cell would keep its forged grant as a share of its own: record it in A's database, so A serves the chunks. */
function recordOnA(g: Grant, pass: unknown, id: string): void {
  const db = new Database(resolveLayout({ GROVE_DIR: a.dir, GROVE_HOME: a.home }).placementDb);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.query(
      `INSERT INTO grants (id, direction, peer, path, filename, file_type, size, manifest_hash, granted_at, expires_at, grant_json, pass_json)
       VALUES (?, 'out', ?, '.bashrc', ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      g.recipient,
      g.filename,
      g.file_type,
      g.total_size,
      g.manifest_hash,
      g.granted_at,
      g.expires_at,
      JSON.stringify(g),
      JSON.stringify(pass),
    );
  } finally {
    db.close();
  }
}

/** Deliver a grant to B as A does (sealed, signed by A, to B's peer API). */
async function deliver(body: unknown): Promise<{ status: number; error: string }> {
  const sealed = await sealJson(bKeys.x25519Public, body, SHARE_INFO, aKeys.id);
  const ans = await callPeerRaw(aKeys, b.peerUrl, bKeys.id as CellId, "POST", "/peer/share/grant", sealed);
  return { status: ans.status, error: String((JSON.parse(dec.decode(ans.body)) as { error?: string }).error ?? "") };
}

/** A forged share of A's file named `filename`, recorded on A and delivered to B; its grant id. */
async function forgedShare(filename: string): Promise<string> {
  const { grant, pass, id } = await forge(filename);
  recordOnA(grant, pass, id);
  const r = await deliver({ grant, pass, manifest });
  expect(r).toEqual({ status: 200, error: "" });
  return id;
}

const listing = (dir: string) => readdirSync(dir).sort();

/** The grant id of A's ordinary share of its file `.bashrc`. */
let bashrc = "";

describe("grove feed get: names a friend chose", () => {
  test("a share named .bashrc is written as bashrc, next to an existing .bashrc left byte-identical", async () => {
    const s = await cliJson<ShareView>(a, ["share", ".bashrc", "--with", bKeys.id]);
    expect(s.delivered).toBe(true);
    bashrc = s.id;
    expect((await cliJson<FeedItem[]>(b, ["feed"])).find((f) => f.id === bashrc)!.filename).toBe(".bashrc");
    const cwd = folder("dotfile", { ".bashrc": "# mine\n" });
    const r = await b.cli(["feed", "get", bashrc.slice(0, 12)], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('written as bashrc (the sharer named it ".bashrc")');
    expect(readFileSync(join(cwd, ".bashrc"), "utf8")).toBe("# mine\n");
    expect(readFileSync(join(cwd, "bashrc"), "utf8")).toBe(SHARED);
    expect(listing(cwd)).toEqual([".bashrc", "bashrc"]);
  });

  test("an existing file is refused without --force (exit 1, named, -o PATH or --force), byte-identical, no temp file left", async () => {
    const cwd = folder("taken", { bashrc: "# also mine\n" });
    const r = await b.cli(["feed", "get", bashrc.slice(0, 12)], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "bashrc already exists; it was not replaced. Use -o PATH to write the file elsewhere, or --force to replace it.",
    );
    expect(readFileSync(join(cwd, "bashrc"), "utf8")).toBe("# also mine\n");
    expect(listing(cwd)).toEqual(["bashrc"]);
    // -o onto an existing file: the same refusal.
    const home = folder("home", { ".bashrc": "# mine\n" });
    const o = await b.cli(["feed", "get", bashrc.slice(0, 12), "-o", ".bashrc"], { cwd: home });
    expect(o.code).toBe(1);
    expect(o.stderr).toContain(".bashrc already exists");
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe("# mine\n");
    // -o elsewhere works.
    expect((await b.cli(["feed", "get", bashrc.slice(0, 12), "-o", "shared-rc"], { cwd: home })).code).toBe(0);
    expect(readFileSync(join(home, "shared-rc"), "utf8")).toBe(SHARED);
    expect(listing(home)).toEqual([".bashrc", "shared-rc"]);
  });

  test("--force replaces the file whole (through a temp file), a folder never", async () => {
    const cwd = folder("force", { bashrc: "# old\n" });
    const r = await b.cli(["feed", "get", bashrc.slice(0, 12), "--force"], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(cwd, "bashrc"), "utf8")).toBe(SHARED);
    expect(listing(cwd)).toEqual(["bashrc"]);
    const withDir = folder("dir");
    mkdirSync(join(withDir, "bashrc"));
    const d = await b.cli(["feed", "get", bashrc.slice(0, 12), "--force"], { cwd: withDir });
    expect(d.code).toBe(1);
    expect(d.stderr).toContain("bashrc is a folder; it was not replaced");
    expect(listing(join(withDir, "bashrc"))).toEqual([]);
  });

  test("a share named ../../x is written inside the current folder only", async () => {
    const id = await forgedShare("../../x");
    expect((await cliJson<FeedItem[]>(b, ["feed"])).find((f) => f.id === id)!.filename).toBe("../../x");
    const top = join(b.root, "cwd", "deep");
    const cwd = folder(join("deep", "one", "two"));
    const r = await b.cli(["feed", "get", id.slice(0, 12)], { cwd });
    expect(r.code).toBe(0);
    expect(listing(cwd)).toEqual(["_.._x"]);
    expect(readFileSync(join(cwd, "_.._x"), "utf8")).toBe(SHARED);
    expect(listing(top)).toEqual(["one"]);
    expect(listing(join(top, "one"))).toEqual(["two"]);
    expect(existsSync(join(b.root, "cwd", "x"))).toBe(false);
    expect(existsSync(join(top, "x"))).toBe(false);
    // Given a folder with -o, the safe name goes inside it.
    const into = folder("into");
    expect((await b.cli(["feed", "get", id.slice(0, 12), "-o", into])).code).toBe(0);
    expect(listing(into)).toEqual(["_.._x"]);
  });

  test("other names a friend might try: Windows devices, separators, dashes", async () => {
    for (const [name, local] of [
      ["..\\..\\win.ini", "_.._win.ini"],
      ["CON.txt", "_CON.txt"],
      ["-rf", "_rf"],
      ["a/b/c.txt", "a_b_c.txt"],
    ]) {
      const id = await forgedShare(name!);
      const cwd = folder(`other-${local}`);
      const r = await b.cli(["feed", "get", id.slice(0, 12)], { cwd });
      expect(r.code).toBe(0);
      expect(listing(cwd)).toEqual([local!]);
    }
  });
});

describe("names with control characters are refused where they arrive", () => {
  async function feedIds(): Promise<string[]> {
    return (await cliJson<FeedItem[]>(b, ["feed"])).map((f) => f.id).sort();
  }
  const grantFiles = () => readdirSync(join(b.dir, "grants")).sort();

  test("a grant named with \\x1b[2J or a bidi override gets a 400 naming the character; nothing is stored; it is logged, escaped", async () => {
    const before = { feed: await feedIds(), files: grantFiles() };
    for (const [filename, why] of [
      ["evil\x1b[2J.txt", "grant: filename: contains a control character (U+001B) at position 5"],
      ["\x1b]0;owned\x07report.pdf", "grant: filename: contains a control character (U+001B) at position 1"],
      ["invoice\u202Efdp.exe", "grant: filename: contains a bidi control (U+202E) at position 8"],
      ["a\u009b2Jb", "grant: filename: contains a control character (U+009B)"],
    ] as const) {
      const { grant, pass } = await forge(filename);
      const r = await deliver({ grant, pass, manifest });
      expect(r.status).toBe(400);
      expect(r.error).toContain(why);
      expect(r.error).not.toMatch(ESC);
    }
    expect(await feedIds()).toEqual(before.feed);
    expect(grantFiles()).toEqual(before.files);
    await Bun.sleep(100);
    expect(b.output()).toMatch(/refused.*grant: filename: contains a control character \(U\+001B\)/);
    expect(b.output()).not.toMatch(ESC);
  });

  test("a card with a control character in its name is refused at pairing: 400, no peer, the invite still unused", async () => {
    const c = await startCell({ config });
    try {
      const token = decodeToken((await c.cli(["invite"])).stdout.trim());
      const root = new Uint8Array(32).fill(9);
      const id = deriveIdentity(root);
      const joiner: CellKeys = { ...id, root, id: toHex(id.ed25519Public) as CellId, apiToken: "" };
      const good = makeCard({
        identity: id,
        name: "mallory",
        addresses: [],
        build: "ab".repeat(32),
        capabilities: { free_bytes: 0, models: [], ram_bytes: 0, gpu: null },
      });
      const join = async (card: Card | Record<string, unknown>) => {
        const body = await sealTo(
          fromHex(token.x25519),
          new TextEncoder().encode(JSON.stringify({ secret: token.secret, card })),
          JOIN_INFO,
          joiner.id,
        );
        const ans = await callPeerRaw(joiner, c.peerUrl, token.id as CellId, "POST", "/peer/join", body);
        return { status: ans.status, text: dec.decode(ans.body) };
      };
      const { signature: _s, ...rest } = good;
      const bad = { ...rest, name: "mallory\x1b[2J\x1b[H" };
      const r = await join({ ...bad, signature: toHex(sign(id.ed25519Secret, signedBytes(bad))) });
      expect(r.status).toBe(400);
      expect(r.text).toContain("invalid cell card: name: contains a control character (U+001B) at position 8");
      expect(await cliJson<PeerView[]>(c, ["peers"])).toEqual([]);
      await Bun.sleep(100);
      expect(c.output()).toMatch(/refused.*invalid cell card: name: contains a control character \(U\+001B\)/);
      expect(c.output()).not.toMatch(ESC);
      // The invite was not spent: the same joiner with a plain name pairs with it.
      expect((await join(good)).status).toBe(200);
      expect((await cliJson<PeerView[]>(c, ["peers"])).map((p) => p.name)).toEqual(["mallory"]);
    } finally {
      await destroyCell(c);
    }
  });

  test("a card refresh with a control character in the name is refused (400); the name kept is the old one", async () => {
    const db = new Database(resolveLayout({ GROVE_DIR: b.dir, GROVE_HOME: b.home }).placementDb, { readonly: true });
    const current = JSON.parse((db.query("SELECT card FROM peers WHERE id = ?").get(aKeys.id) as { card: string }).card) as Card;
    db.close();
    const { signature: _s, ...rest } = current;
    const renamed = { ...rest, name: "bank\u202Egnp.exe", issued_at: new Date().toISOString() };
    const forgedCard = { ...renamed, signature: toHex(sign(aKeys.ed25519Secret, signedBytes(renamed))) };
    const zero = "00".repeat(32);
    const body = await sealJson(bKeys.x25519Public, { card: forgedCard, chunks: zero, backups: zero }, syncInfo("inventory"), aKeys.id);
    const ans = await callPeerRaw(aKeys, b.peerUrl, bKeys.id as CellId, "POST", "/peer/sync/inventory", body);
    expect(ans.status).toBe(400);
    expect(dec.decode(ans.body)).toContain("invalid cell card: name: contains a bidi control (U+202E)");
    const peers = await cliJson<PeerView[]>(b, ["peers"]);
    expect(peers.map((p) => p.name)).toEqual([current.name]);
  });

  test("the CLI never prints a peer's name or message raw: a name an older build stored, a message with C1 and bidi controls", async () => {
    // A message may carry C1 controls and bidi marks (right-to-left text needs some): stored as sent, shown escaped.
    const text = "look\u009b2J here \u202Eright-to-left\u202C\nsecond line";
    expect((await a.cli(["msg", bKeys.id, text])).code).toBe(0);
    // A name stored before this build refused such cards.
    const db = new Database(resolveLayout({ GROVE_DIR: b.dir, GROVE_HOME: b.home }).placementDb);
    db.exec("PRAGMA busy_timeout = 5000");
    const old = (db.query("SELECT name FROM peers WHERE id = ?").get(aKeys.id) as { name: string }).name;
    db.query("UPDATE peers SET name = ? WHERE id = ?").run("old\x1b[2J\x1b]0;pwned\x07name", aKeys.id);
    try {
      for (const args of [
        ["feed"],
        ["peers"],
        ["msgs"],
        ["msgs", aKeys.id],
        ["bounty"],
        ["feed", "get", bashrc.slice(0, 12), "-o", join(b.root, "cwd", "dotfile", "bashrc")],
      ]) {
        const r = await b.cli(args);
        expect(r.stdout + r.stderr).not.toMatch(ESC);
        if (args[0] !== "feed" || args.length === 1)
          expect(r.stdout + r.stderr).toMatch(
            /old\\x1b\[2J\\x1b\]0;pwned\\x07name|look\\x9b2J here \\u202eright-to-left\\u202c ⏎ second line/,
          );
      }
      const conversation = await b.cli(["msgs", aKeys.id]);
      expect(conversation.stdout).toContain("look\\x9b2J here \\u202eright-to-left\\u202c ⏎ second line");
      // The stored text is what was sent (the JSON output is for programs).
      const stored = JSON.parse((await b.cli(["msgs", aKeys.id, "--json"])).stdout) as { text: string }[];
      expect(stored.map((m) => m.text)).toContain(text);
    } finally {
      db.query("UPDATE peers SET name = ? WHERE id = ?").run(old, aKeys.id);
      db.close();
    }
  });
});
