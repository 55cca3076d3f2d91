/**
 * @module fleet/peer-store — the cells this cell is paired with (placement.db `peers`):
 * their cards, friend/favorite flags and when they were last seen. Ids may be given as a
 * unique prefix (at least 4 characters), as users type them.
 */
import type { Database } from "bun:sqlite";
import { badRequest, conflict, notFound } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";

export interface PeerRow {
  id: CellId;
  name: string;
  card: string;
  friend: boolean;
  favorite: boolean;
  added_at: number;
  last_seen: number | null;
}

type RawRow = Omit<PeerRow, "friend" | "favorite"> & { friend: number; favorite: number };
const fromRaw = (r: RawRow): PeerRow => ({ ...r, friend: r.friend === 1, favorite: r.favorite === 1 });

export type PeerFlag = "friend" | "favorite";

export class PeerStore {
  constructor(private db: Database) {}

  list(): PeerRow[] {
    return (this.db.query("SELECT * FROM peers ORDER BY name, id").all() as RawRow[]).map(fromRaw);
  }

  get(id: string): PeerRow | null {
    const r = this.db.query("SELECT * FROM peers WHERE id = ?").get(id) as RawRow | null;
    return r ? fromRaw(r) : null;
  }

  /** The peer whose id is `idOrPrefix` or starts with it; 404 when none, 409 when several. */
  resolve(idOrPrefix: string): PeerRow {
    const q = idOrPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(q)) throw badRequest("a peer id is 4 to 64 hex characters (a unique prefix is enough)");
    const rows = (this.db.query("SELECT * FROM peers WHERE substr(id, 1, ?) = ?").all(q.length, q) as RawRow[]).map(fromRaw);
    if (rows.length === 0) throw notFound(`no peer with id ${q}`);
    if (rows.length > 1) throw conflict(`${q} matches ${rows.length} peers: give more characters`);
    return rows[0]!;
  }

  /** Add a peer or refresh its card (flags are kept). */
  upsert(id: CellId, name: string, card: string, now = Date.now()): void {
    this.db
      .query(
        `INSERT INTO peers (id, name, card, added_at, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, card = excluded.card, last_seen = excluded.last_seen`,
      )
      .run(id, name, card, now, now);
  }

  setFlag(id: CellId, flag: PeerFlag, on: boolean): void {
    this.db.query(`UPDATE peers SET ${flag === "friend" ? "friend" : "favorite"} = ? WHERE id = ?`).run(on ? 1 : 0, id);
  }

  seen(id: CellId, at = Date.now()): void {
    this.db.query("UPDATE peers SET last_seen = ? WHERE id = ?").run(at, id);
    this.lastWrite.set(id, at);
  }

  private lastWrite = new Map<string, number>();

  /** `seen`, written at most once per `everyMs` per peer (a chunk transfer is many requests). */
  touch(id: CellId, everyMs = 10_000, at = Date.now()): void {
    if (at - (this.lastWrite.get(id) ?? 0) >= everyMs) this.seen(id, at);
  }

  remove(id: CellId): void {
    this.db.query("DELETE FROM peers WHERE id = ?").run(id);
  }
}
