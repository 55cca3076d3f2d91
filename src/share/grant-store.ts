/**
 * @module share/grant-store — grants this cell made and received (placement.db `grants`), the
 * revocations it knows (`revocations`), and a copy of each received grant in grants/{id}.json.
 */
import type { Database } from "bun:sqlite";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { confinedPath } from "../core/confine.ts";
import { notFound, badRequest, conflict } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import type { FetchPass, Grant, Revocation } from "../protocol/grant.ts";
import type { Manifest } from "../store/manifest.ts";

export interface GrantRow {
  id: string;
  direction: "out" | "in";
  peer: CellId;
  path: string | null;
  filename: string;
  file_type: string;
  size: number;
  manifest_hash: string;
  granted_at: number;
  expires_at: number | null;
  received_at: number | null;
  delivered: number;
  revoked_at: number | null;
  grant_json: string;
  pass_json: string;
  manifest_json: string | null;
}

export class GrantStore {
  constructor(
    private db: Database,
    private grantsDir: string,
  ) {}

  addOut(g: Grant, pass: FetchPass, id: string, path: string): void {
    this.db
      .query(
        `INSERT INTO grants (id, direction, peer, path, filename, file_type, size, manifest_hash, granted_at, expires_at, grant_json, pass_json)
         VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        g.recipient,
        path,
        g.filename,
        g.file_type,
        g.total_size,
        g.manifest_hash,
        g.granted_at,
        g.expires_at,
        JSON.stringify(g),
        JSON.stringify(pass),
      );
  }

  /** Keep a received grant (file first, then the row). False when it was already here. */
  addIn(g: Grant, pass: FetchPass, id: string, manifest: Manifest, at = Date.now()): boolean {
    if (this.get(id)) return false;
    // The id is a hex digest computed here, but the file name comes from a peer's data: confined all the same.
    writeFileAtomicSync(confinedPath(this.grantsDir, `${id}.json`), JSON.stringify({ grant: g, pass, manifest }) + "\n", 0o600);
    this.db
      .query(
        `INSERT INTO grants (id, direction, peer, filename, file_type, size, manifest_hash, granted_at, expires_at, received_at, grant_json, pass_json, manifest_json)
         VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        g.creator,
        g.filename,
        g.file_type,
        g.total_size,
        g.manifest_hash,
        g.granted_at,
        g.expires_at,
        at,
        JSON.stringify(g),
        JSON.stringify(pass),
        JSON.stringify(manifest),
      );
    return true;
  }

  get(id: string): GrantRow | null {
    return (this.db.query("SELECT * FROM grants WHERE id = ?").get(id) as GrantRow | null) ?? null;
  }

  /** A grant by id or unique prefix (6+ hex characters), in one direction. */
  resolve(idOrPrefix: string, direction: "out" | "in"): GrantRow {
    const q = idOrPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(q)) throw badRequest("a grant id is 6 to 64 hex characters (a unique prefix is enough)");
    const rows = this.db
      .query("SELECT * FROM grants WHERE direction = ? AND substr(id, 1, ?) = ?")
      .all(direction, q.length, q) as GrantRow[];
    if (rows.length === 0) throw notFound(`no ${direction === "out" ? "share" : "received file"} with id ${q}`);
    if (rows.length > 1) throw conflict(`${q} matches ${rows.length} grants: give more characters`);
    return rows[0]!;
  }

  list(direction: "out" | "in"): GrantRow[] {
    return this.db.query("SELECT * FROM grants WHERE direction = ? ORDER BY granted_at DESC, id").all(direction) as GrantRow[];
  }

  /** Forget a grant this cell made that its recipient refused (it never held it). */
  removeOut(id: string): void {
    this.db.query("DELETE FROM grants WHERE id = ? AND direction = 'out' AND delivered = 0").run(id);
  }

  setDelivered(id: string): void {
    this.db.query("UPDATE grants SET delivered = 1 WHERE id = ?").run(id);
  }

  /** Record a (verified) revocation; marks the grant revoked when we have it. */
  addRevocation(r: Revocation): boolean {
    const fresh =
      this.db
        .query("INSERT OR IGNORE INTO revocations (grant_id, owner, revoked_at, body) VALUES (?, ?, ?, ?)")
        .run(r.grant_id, r.owner, r.revoked_at, JSON.stringify(r)).changes > 0;
    this.db.query("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(r.revoked_at, r.grant_id);
    return fresh;
  }

  isRevoked(grantId: string): boolean {
    return this.db.query("SELECT 1 FROM revocations WHERE grant_id = ?").get(grantId) !== null;
  }

  acked(grantId: string, peer: CellId): boolean {
    return this.db.query("SELECT 1 FROM revocation_acks WHERE grant_id = ? AND peer = ?").get(grantId, peer) !== null;
  }

  ack(grantId: string, peer: CellId): void {
    this.db.query("INSERT OR IGNORE INTO revocation_acks (grant_id, peer, at) VALUES (?, ?, ?)").run(grantId, peer, Date.now());
  }

  /** Our own revocations (to tell peers that missed them). */
  revocationsBy(owner: CellId): Revocation[] {
    return (this.db.query("SELECT body FROM revocations WHERE owner = ?").values(owner) as [string][]).map(
      (r) => JSON.parse(r[0]) as Revocation,
    );
  }
}
