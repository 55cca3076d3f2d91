/**
 * @module test/fuzz/cell-target — the real cell the HTTP and relay fuzzers attack: a `grove
 * start` process with some state (a stored file, a share, chunks and a backup it keeps for the
 * fuzzer, a live invite), a fuzzer identity paired with it for real (invite, sealed join) and made
 * a friend, and the state snapshot the fuzzers compare before and after.
 */
import { Database } from "bun:sqlite";
import { untilSettled } from "../helpers/settled.ts";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCell, type TestCell } from "../helpers/cell.ts";
import { fromHex } from "../../src/core/types.ts";
import { decodeToken } from "../../src/fleet/invite-token.ts";
import { FRIEND_INFO, JOIN_INFO } from "../../src/protocol/labels.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { encodeBackupBatch } from "../../src/sync/wire.ts";
import { FuzzIdentity } from "./identity.ts";
import { RawHttp } from "./raw-http.ts";

export interface FuzzCell {
  cell: TestCell;
  host: string;
  port: number;
  /** The cell's id and X25519 public key. */
  id: string;
  x25519: Uint8Array;
  /** A paired friend of the cell, the fuzzer's voice. */
  peer: FuzzIdentity;
  /** A chunk and a backup the cell keeps for `peer`; the id of the grant it made for `peer`. */
  heldHash: string;
  backupName: string;
  grantId: string | null;
  /** The live invite's token (so /peer/join and open relay frames have something to miss). */
  inviteSecret: string;
}

/** Call the cell's peer API as `who`, signed (seeding only; the fuzzers use their own requests). */
async function peerCall(
  http: RawHttp,
  cellId: string,
  who: FuzzIdentity,
  method: string,
  path: string,
  body: Uint8Array | null,
): Promise<{ status: number; body: Uint8Array }> {
  const h = who.signRequest(method, path, body, cellId);
  const r = await http.request({ method, target: path, headers: Object.entries(h), body });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.error}`);
  return { status: r.status, body: r.body };
}

/** Start a cell, pair the fuzzer with it and give it some state. `relays`: config relays. */
export async function startFuzzCell(opts: { relays?: string[] } = {}): Promise<FuzzCell> {
  const cell = await startCell({
    config: { name: "fuzz-target", watch_home: false, sync_interval_s: 86_400, audit_sample: 0, advertise: [], relays: opts.relays ?? [] },
  });
  const url = new URL(cell.url);
  const host = url.hostname;
  const port = Number(url.port);
  const http = new RawHttp(host, port);
  const peer = new FuzzIdentity("fuzz-peer");
  try {
    // Pair for real: an invite from the cell, a join sealed to it and signed by the fuzzer.
    const token = decodeToken((await cell.cli(["invite"])).stdout.trim());
    const joinBody = await sealTo(
      fromHex(token.x25519),
      new TextEncoder().encode(JSON.stringify({ secret: token.secret, card: peer.card })),
      JOIN_INFO,
      peer.id,
    );
    const j = await peerCall(http, token.id, peer, "POST", "/peer/join", joinBody);
    if (j.status !== 200) throw new Error(`join refused: ${j.status} ${new TextDecoder().decode(j.body)}`);
    // Friends as users make them: the fuzzer asks (POST /peer/friend), the cell accepts (its
    // answer back cannot reach the fuzzer, which has no address: it stays owed, harmlessly).
    const ask = await peerCall(
      http,
      token.id,
      peer,
      "POST",
      "/peer/friend",
      await sealTo(fromHex(token.x25519), new TextEncoder().encode(JSON.stringify({ v: 1, kind: "request" })), FRIEND_INFO, peer.id),
    );
    if (ask.status !== 200) throw new Error(`friend request refused: ${ask.status} ${new TextDecoder().decode(ask.body)}`);
    const fr = await cell.api(`/api/peers/${peer.id}/accept`, { method: "POST" });
    if (!fr.ok) throw new Error(`accept: ${fr.status}`);
    // A live invite, unused: joins and open relay frames have a secret to miss.
    const live = decodeToken((await cell.cli(["invite"])).stdout.trim());
    // A file of the cell's own, shared with the fuzzer (grants/), and one the fuzzer keeps there.
    const file = join(cell.root, "seed.bin");
    writeFileSync(file, randomBytes(200_000));
    const put = await cell.cli(["put", file, "--as", "seed/seed.bin"]);
    if (put.code !== 0) throw new Error(`put: ${put.stderr}`);
    const sh = await cell.cli(["share", "seed/seed.bin", "--with", peer.id, "--json"]);
    const grantId = sh.code === 0 ? (JSON.parse(sh.stdout) as { id: string }).id : null;
    const chunk = new Uint8Array(randomBytes(4096));
    const heldHash = createHash("sha256").update(chunk).digest("hex");
    const pc = await peerCall(http, token.id, peer, "PUT", `/peer/sync/chunks/${heldHash}`, chunk);
    if (pc.status !== 200) throw new Error(`chunk push refused: ${pc.status} ${new TextDecoder().decode(pc.body)}`);
    const backupName = randomBytes(32).toString("hex");
    const pb = await peerCall(
      http,
      token.id,
      peer,
      "POST",
      "/peer/sync/backups",
      encodeBackupBatch([{ kind: "manifest", name: backupName, blob: new Uint8Array(randomBytes(300)) }]),
    );
    if (pb.status !== 200) throw new Error(`backup push refused: ${pb.status}`);
    // The put's manifest and GROVE_HOME copy are fsynced once the cell is quiet (ingest/settler),
    // which empties manifest_pending and home_pending: wait for it, so no fuzz target is blamed.
    await untilSettled(cell.dir);
    return {
      cell,
      host,
      port,
      id: token.id,
      x25519: fromHex(token.x25519),
      peer,
      heldHash,
      backupName,
      grantId,
      inviteSecret: live.secret,
    };
  } finally {
    http.close();
  }
}

/** What must not change: row counts of every placement.db table, and the stored files. */
export interface StateSnapshot {
  tables: Record<string, number>;
  files: string[];
}

const FOLDERS = ["chunks", "manifests", "grants", "invites"];

export function snapshot(dir: string): StateSnapshot {
  const db = new Database(join(dir, "placement.db"), { readonly: true });
  const tables: Record<string, number> = {};
  try {
    const names = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
      name: string;
    }[];
    for (const { name } of names)
      tables[name] = (db.query(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
  } finally {
    db.close();
  }
  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else files.push(`${r} ${statSync(join(dir, r)).size}`);
    }
  };
  for (const f of FOLDERS) walk(f);
  files.sort();
  return { tables, files };
}

/** What differs between two snapshots, one line each ("" when nothing). */
export function diffSnapshots(a: StateSnapshot, b: StateSnapshot): string[] {
  const out: string[] = [];
  for (const t of new Set([...Object.keys(a.tables), ...Object.keys(b.tables)])) {
    if (a.tables[t] !== b.tables[t]) out.push(`table ${t}: ${a.tables[t] ?? "-"} -> ${b.tables[t] ?? "-"} rows`);
  }
  const fa = new Set(a.files);
  const fb = new Set(b.files);
  for (const f of a.files) if (!fb.has(f)) out.push(`file gone or changed: ${f}`);
  for (const f of b.files) if (!fa.has(f)) out.push(`file new or changed: ${f}`);
  return out;
}

/** The cell still runs and answers GET /api/status. */
export async function cellAlive(c: TestCell): Promise<string | null> {
  if (c.proc.exitCode !== null || c.proc.signalCode) return `the cell process exited (${c.proc.exitCode ?? c.proc.signalCode})`;
  try {
    const r = await c.api("/api/status", { signal: AbortSignal.timeout(10_000) });
    await r.arrayBuffer();
    return r.status === 200 ? null : `/api/status answered ${r.status}`;
  } catch (e) {
    return `/api/status did not answer: ${(e as Error).message}`;
  }
}
