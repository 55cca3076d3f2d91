/**
 * Forged backups during recovery, with real cells. A backs up to B (honest), M1 and M2
 * (malicious). A is lost; `grove recover` goes through M1's invite, then `grove start`.
 *
 *  - M1 replaces what it keeps for A with blobs sealed the old way (format 1: HPKE to A's public
 *    key, which is on A's card): an index with a huge made_at naming a manifest whose
 *    source_path is `../../evil` and a forged friend card, and that manifest under every name
 *    it keeps (and under its own hash, as format 1 named them).
 *  - M2 keeps A's real index, and the newest one (it asked for a fresh copy), so the recovered
 *    cell reads the manifests from it first; but it swapped two manifest blobs between their
 *    names and replaced the others with format-2 blobs made with a wrong key (for the right
 *    manifest: the test knows the mapping, which a peer does not).
 *
 * Expected: every forged blob is refused and reported with the peer that sent it; nothing lands
 * outside GROVE_DIR / GROVE_HOME; the forged card is not added; recovery waits (still
 * recovering) until an honest peer gives every manifest back, and then no history is lost.
 */
import { untilSettled } from "../helpers/settled.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cliJson, destroyCell, FROM_SOURCE, pair, runGrove, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import { summarize } from "../../src/sync/summary.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { secretFromPhrase } from "../../src/crypto/recovery.ts";
import { makeCard } from "../../src/protocol/card.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { BACKUP_INFO } from "../../src/protocol/labels.ts";
import { backupKeys, backupName, sealBackup, LEGACY_BACKUP_FORMAT } from "../../src/protocol/backup-blob.ts";
import { encryptionInfo, manifestHash, manifestRelPath, type Manifest } from "../../src/store/manifest.ts";
import type { CellId, FileHash } from "../../src/core/types.ts";

const config = { replication_factor: 3, sync_interval_s: 3600 };
const enc = new TextEncoder();
const sha256 = (d: Uint8Array) => new Uint8Array(createHash("sha256").update(d).digest());
const AUTH = "failed its authenticity check";

let a: TestCell | undefined, b: TestCell | undefined, m1: TestCell | undefined, m2: TestCell | undefined, a2: TestCell | undefined;
let aId = "";
let phrase = "";
const ids: Record<string, string> = {};
/** Every version of every path A stored: [path, version, bytes]. */
const stored: [string, number, Uint8Array][] = [];
/** A's manifests (hash -> file bytes), read before it is lost. */
const manifests = new Map<string, Uint8Array>();
let evil: Manifest;
let evilHash = "";
let forgedId = "";
const reports: SyncReport[] = [];

function db(cell: TestCell): Database {
  const d = new Database(join(cell.dir, "placement.db"));
  d.exec("PRAGMA busy_timeout = 10000");
  return d;
}

async function put(cell: TestCell, path: string, bytes: Uint8Array, version: number) {
  const src = join(cell.root, "src.bin");
  writeFileSync(src, bytes);
  const r = await cell.cli(["put", src, "--as", path]);
  expect(r.code).toBe(0);
  stored.push([path, version, bytes]);
}

/** The first round a recovering cell ran after `grove start` (it runs at once). */
async function firstRound(cell: TestCell): Promise<SyncReport> {
  for (let i = 0; i < 1200; i++) {
    const st = (await (await cell.api("/api/sync")).json()) as { last: SyncReport | null };
    if (st.last) return st.last;
    await Bun.sleep(50);
  }
  throw new Error("no round finished");
}

/** Every name under `dir`, recursively. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String);
}

beforeAll(async () => {
  [a, b, m1, m2] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config }), startCell({ config })]);
  for (const x of [b, m1, m2]) await pair(a, x);
  for (const [k, c] of Object.entries({ b, m1, m2 })) ids[k] = cellIdOf(c!);
  await put(a, "notes/today.txt", enc.encode("first version\n"), 1);
  await put(a, "notes/today.txt", enc.encode("second version, longer\n"), 2);
  await put(a, "docs/plan.md", enc.encode("# plan\nrecover without losing anything\n"), 1);
  await put(a, "big.bin", pseudoRandom(4 * 1024 * 1024 + 5, 7), 1);
  const s = await cliJson<SyncReport>(a, ["sync"]);
  expect(s.errors).toEqual([]);
  expect(s.backups_pushed).toBeGreaterThanOrEqual(3 * 5);
  aId = cellIdOf(a);
  phrase = (await cliJson<{ phrase: string }>(a, ["recovery-phrase"])).phrase;

  // M2 asks for a fresh copy of the index (drops its own): it then holds the newest one. It
  // also holds a format-1 blob, which the format-2 index's arrival removes.
  {
    const d = db(m2);
    d.query("DELETE FROM backups WHERE owner = ? AND kind = 'index'").run(aId);
    d.query("INSERT INTO backups (owner, name, kind, size, stored_at, data) VALUES (?, ?, 'manifest', 41, 0, ?)").run(
      aId,
      "ee".repeat(32),
      Uint8Array.of(LEGACY_BACKUP_FORMAT, ...randomBytes(40)),
    );
    d.close();
  }
  await Bun.sleep(20);
  const s2 = await cliJson<SyncReport>(a, ["sync"]);
  expect(s2.errors).toEqual([]);
  expect(s2.backups_pushed).toBe(1);

  await untilSettled(a.dir); // the manifests' files written (store/manifest-settle)
  const ad = new Database(join(a.dir, "placement.db"), { readonly: true });
  for (const r of ad.query("SELECT manifest_hash, manifest_file FROM manifests").all() as {
    manifest_hash: string;
    manifest_file: string;
  }[]) {
    manifests.set(r.manifest_hash, new Uint8Array(readFileSync(join(a.dir, "manifests", r.manifest_file))));
  }
  ad.close();
  expect(manifests.size).toBe(4);
  await destroyCell(a);
  a = undefined;

  // What the attackers make. A's public X25519 key is on its card, which every peer has.
  evil = {
    format: 1,
    filename: "evil",
    source_path: "../../evil",
    total_size: 5,
    file_hash: Buffer.from(sha256(enc.encode("pwned"))).toString("hex") as FileHash,
    chunks: [],
    encryption: encryptionInfo(),
    version: 1,
    created_at: new Date().toISOString(),
    synced_at: null,
    owner: aId as CellId,
  };
  evilHash = manifestHash(evil, sha256);
  const stranger = deriveIdentity(new Uint8Array(randomBytes(32)));
  const forgedCard = makeCard({
    identity: stranger,
    name: "evil",
    addresses: ["http://127.0.0.1:9"],
    build: "ab".repeat(32),
    capabilities: { free_bytes: 0, models: [], ram_bytes: 0, gpu: null },
  });
  forgedId = forgedCard.id;

  // M1: format 1, the old way.
  {
    const d = db(m1!);
    const x25519 = Buffer.from(
      (JSON.parse((d.query("SELECT card FROM peers WHERE id = ?").get(aId) as { card: string }).card) as { x25519: string }).x25519,
      "hex",
    );
    const index = {
      v: 1,
      owner: aId,
      made_at: 9_000_000_000_000_000,
      versions: [
        ["../../evil", 1, evilHash, Date.now()],
        ["notes/today.txt", 3, evilHash, Date.now()],
      ],
      peers: [{ card: forgedCard, friend: true, favorite: true }],
    };
    const forgedIndex = await sealTo(x25519, enc.encode(JSON.stringify(index)), BACKUP_INFO, `${aId}/index`);
    const forgedManifest = await sealTo(x25519, enc.encode(JSON.stringify(evil)), BACKUP_INFO, `${aId}/manifest`);
    expect(
      d.query("UPDATE backups SET data = ?, size = ? WHERE owner = ? AND kind = 'index'").run(forgedIndex, forgedIndex.byteLength, aId)
        .changes,
    ).toBe(1);
    expect(
      d
        .query("UPDATE backups SET data = ?, size = ? WHERE owner = ? AND kind = 'manifest'")
        .run(forgedManifest, forgedManifest.byteLength, aId).changes,
    ).toBe(4);
    d.query("INSERT INTO backups (owner, name, kind, size, stored_at, data) VALUES (?, ?, 'manifest', ?, 0, ?)").run(
      aId,
      evilHash,
      forgedManifest.byteLength,
      forgedManifest,
    );
    d.close();
  }

  // M2: the real index (newest), manifest blobs swapped or made with a wrong key.
  {
    const d = db(m2!);
    const rows = d.query("SELECT name, kind, data FROM backups WHERE owner = ? ORDER BY name").all(aId) as {
      name: string;
      kind: string;
      data: Uint8Array;
    }[];
    expect(rows.filter((r) => r.kind === "index").length).toBe(1);
    expect(rows.some((r) => r.name === "ee".repeat(32))).toBe(false); // the format-1 blob went
    const real = backupKeys(aId as CellId, deriveIdentity(secretFromPhrase(phrase)).masterKey);
    const wrong = backupKeys(aId as CellId, new Uint8Array(randomBytes(32)));
    const byName = new Map([...manifests.keys()].map((h) => [backupName(real, "manifest", h), h]));
    const held = rows.filter((r) => r.kind === "manifest");
    expect(held.map((r) => byName.has(r.name))).toEqual([true, true, true, true]);
    const set = d.query("UPDATE backups SET data = ?, size = ? WHERE owner = ? AND name = ?");
    set.run(held[1]!.data, held[1]!.data.byteLength, aId, held[0]!.name);
    set.run(held[0]!.data, held[0]!.data.byteLength, aId, held[1]!.name);
    for (const r of held.slice(2)) {
      const h = byName.get(r.name)!;
      const blob = sealBackup(wrong, "manifest", h, manifests.get(h)!);
      set.run(blob, blob.byteLength, aId, r.name);
    }
    d.close();
  }
}, 240_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(m1), destroyCell(m2), destroyCell(a2)]);
});

describe("forged backups during recovery", () => {
  test("peers keep A's backups under names that are not its manifest hashes", () => {
    const d = new Database(join(b!.dir, "placement.db"), { readonly: true });
    const names = (d.query("SELECT name FROM backups WHERE owner = ?").all(aId) as { name: string }[]).map((r) => r.name);
    d.close();
    expect(names.length).toBe(5);
    for (const h of manifests.keys()) expect(names).not.toContain(h);
  });

  test("recovering through the forger's invite: its index is refused and reported, the cell keeps recovering", async () => {
    const token = (await m1!.cli(["invite"])).stdout.trim();
    const root = tempRoot();
    const env = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") };
    const rec = await runGrove(FROM_SOURCE, ["recover", "--invite", token], env, { stdin: phrase });
    expect(rec.code).toBe(0);
    a2 = await startCell({ root, config });
    const r = await firstRound(a2);
    reports.push(r);
    expect(r.recovering).toBe(true);
    expect(r.restored).toMatchObject({ manifests: 0, versions: 0, peers: 0 });
    expect(r.restored!.refused).toBeGreaterThanOrEqual(1);
    expect(
      r.errors.some((e) => e.startsWith(ids.m1!.slice(0, 8)) && e.includes("backup index") && e.includes(AUTH) && e.includes("format 1")),
    ).toBe(true);
    expect(existsSync(join(a2.dir, "recovering.json"))).toBe(true);
    const status = await a2.cli(["status"]);
    expect(status.stdout).toMatch(/recovery .*1 backup refused \(failed the authenticity check/);
  });

  test("the peer with the newest real index forges every manifest: all refused, none imported, still recovering", async () => {
    await pair(a2!, m2!);
    const r = await cliJson<SyncReport>(a2!, ["sync"]);
    reports.push(r);
    expect(r.recovering).toBe(true);
    expect(r.restored).toMatchObject({ manifests: 0, versions: 0, missing: 4 });
    // M1's index, M2's four manifests and M1's four (asked next): each refused.
    expect(r.restored!.refused).toBe(9);
    const from = (id: string) => r.errors.filter((e) => e.startsWith(id.slice(0, 8)) && e.includes(AUTH));
    expect(from(ids.m1!).length).toBe(5);
    expect(from(ids.m2!).length).toBe(4);
    expect(from(ids.m2!).some((e) => e.includes("made with another key"))).toBe(true);
    expect(r.errors.some((e) => e.includes("4 manifests of the backup index could not be restored"))).toBe(true);
    const ls = await cliJson<{ path: string }[]>(a2!, ["ls"]);
    expect(ls).toEqual([]);
    // What `grove sync` prints for such a round.
    const text = summarize(r);
    expect(text).toContain("9 backups refused and ignored (failed the authenticity check");
    expect(text).toContain("recovering: 4 manifests of the backup index not restored intact yet");
  });

  test("once the honest peer answers, everything comes back: no file outside, no forged card, no history lost", async () => {
    // B is in the real index's peer list (applied last round); it knows A's id, so it answers.
    const r = await cliJson<SyncReport>(a2!, ["sync"]);
    reports.push(r);
    expect(r.recovering).toBe(false);
    expect(r.restored).toMatchObject({ manifests: 4, versions: 4, missing: 0 });
    expect(r.restored!.refused).toBeGreaterThanOrEqual(4);
    expect(existsSync(join(a2!.dir, "recovering.json"))).toBe(false);
    // Later rounds still show what the recovery refused (it ran in an earlier round).
    const text = await a2!.cli(["sync"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /earlier, at .*: restored from the fleet: 4 manifests, 4 versions, \d+ peers; \d+ backups refused and ignored \(failed the authenticity check/,
    );
    expect(text.stdout).toContain(`problem then: ${ids.m2!.slice(0, 8)}: refused its backup of manifest`);
    expect((await a2!.cli(["status"])).stdout).toMatch(/recovery .*4 manifests, 4 versions.*backups refused/);
    const after = await cliJson<SyncReport>(a2!, ["sync"]);
    expect(after.errors).toEqual([]);
    expect(after.restored).toBeNull();
    expect(after.missing).toBe(0);

    // The traversal's exact targets, and anything named evil anywhere near.
    const root = a2!.root;
    for (const rel of [manifestRelPath("../../evil", evil.file_hash), manifestRelPath("../../evil", evilHash, true)]) {
      expect(existsSync(resolve(a2!.dir, "manifests", rel))).toBe(false);
    }
    expect(resolve(a2!.dir, "manifests", manifestRelPath("../../evil", evil.file_hash))).toBe(
      join(root, `evil.${evil.file_hash.slice(0, 8)}.json`),
    );
    expect(existsSync(resolve(a2!.home, "../../evil"))).toBe(false);
    expect(existsSync(join(tmpdir(), "evil"))).toBe(false);
    expect(walk(root).filter((n) => n.includes("evil"))).toEqual([]);

    // No card added: the forged cell is not a peer, and no peer became a friend.
    const peers = await cliJson<{ id: string; friend: boolean }[]>(a2!, ["peers"]);
    expect(peers.map((p) => p.id).sort()).toEqual([ids.b!, ids.m1!, ids.m2!].sort());
    expect(peers.some((p) => p.id === forgedId)).toBe(false);
    expect(peers.some((p) => p.friend)).toBe(false);

    // Every version of every file, byte-identical.
    const ls = await cliJson<{ path: string }[]>(a2!, ["ls"]);
    expect(ls.map((x) => x.path).sort()).toEqual(["big.bin", "docs/plan.md", "notes/today.txt"]);
    const out = join(root, "out.bin");
    for (const [path, version, bytes] of stored) {
      const h = await cliJson<{ versions: { version: number; deleted: boolean }[] }>(a2!, ["history", path]);
      expect(h.versions.map((v) => v.version).sort()).toEqual(
        stored
          .filter((s) => s[0] === path)
          .map((s) => s[1])
          .sort(),
      );
      const g = await a2!.cli(["get", path, "--version", String(version), "-o", out]);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), Buffer.from(bytes))).toBe(0);
    }
    rmSync(out, { force: true });

    // Every refusal named the peer that sent it.
    for (const rep of reports)
      for (const e of rep.errors.filter((x) => x.includes(AUTH)))
        expect([ids.m1!.slice(0, 8), ids.m2!.slice(0, 8)]).toContain(e.slice(0, 8));
    expect(reports.flatMap((x) => x.errors).some((e) => e.startsWith(ids.b!.slice(0, 8)))).toBe(false);
  });
});
