/**
 * @module fleet/peer-store — the cells this cell is paired with (placement.db `peers`):
 * their cards, friend/favorite flags, the friendship on its way (requested, asked, a notice not
 * yet delivered: fleet/friendship) and when they were last seen. Ids may be given as a unique
 * prefix (at least 4 characters), as users type them.
 */
import type { Database } from "bun:sqlite";
import { badRequest, conflict, notFound } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";

/**
 * Where a friendship stands, seen from this cell: none; requested (this cell asked the other);
 * asked (the other asked this cell, not accepted yet); friends (both agreed: `friend` is set).
 */
export type Friendship = "none" | "requested" | "asked" | "friends";
export const FRIENDSHIPS: readonly Friendship[] = ["none", "requested", "asked", "friends"];

/** A friendship change this cell still owes the other cell (sent again after each sync round). */
export type FriendNotice = "request" | "end";

export interface PeerRow {
  id: CellId;
  name: string;
  card: string;
  /** This cell shares with that one, takes its grants, answers its AI questions (friendship "friends"). */
  friend: boolean;
  favorite: boolean;
  /** One of mine: the same owner's cell (paired with `grove invite --mine`), which shares the tree and the file keys. */
  mine: boolean;
  added_at: number;
  last_seen: number | null;
  friendship: Friendship;
  /** A change not yet told to that cell, or null. */
  friend_notice: FriendNotice | null;
  /** When the friendship last changed (null: never through requests). */
  friendship_at: number | null;
}

type RawRow = Omit<PeerRow, "friend" | "favorite" | "mine" | "friendship" | "friend_notice"> & {
  friend: number;
  favorite: number;
  mine: number;
  friend_pending: string | null;
  friend_notice: string | null;
};

/** `friend` decides; `friend_pending` counts only while it is 0 (a build without it may have changed `friend`). */
function friendshipOf(r: Pick<RawRow, "friend" | "friend_pending">): Friendship {
  if (r.friend === 1) return "friends";
  return r.friend_pending === "requested" || r.friend_pending === "asked" ? r.friend_pending : "none";
}

const fromRaw = (r: RawRow): PeerRow => {
  const { friend_pending: _pending, ...rest } = r;
  return {
    ...rest,
    friend: r.friend === 1,
    favorite: r.favorite === 1,
    mine: r.mine === 1,
    friendship: friendshipOf(r),
    friend_notice: r.friend_notice === "request" || r.friend_notice === "end" ? r.friend_notice : null,
  };
};

export type PeerFlag = "friend" | "favorite" | "mine";

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
    const column = flag === "friend" ? "friend" : flag === "mine" ? "mine" : "favorite";
    this.db.query(`UPDATE peers SET ${column} = ? WHERE id = ?`).run(on ? 1 : 0, id);
  }

  /**
   * Record where the friendship with `id` stands and what it is still owed (fleet/friendship):
   * `friend` follows ("friends" sets it, anything else clears it). `at` is the change's time; the
   * old one is kept when the state itself did not change.
   */
  setFriendship(id: CellId, state: Friendship, notice: FriendNotice | null, at = Date.now()): void {
    const pending = state === "requested" || state === "asked" ? state : null;
    this.db
      .query(
        `UPDATE peers SET friend = ?, friend_pending = ?, friend_notice = ?,
           friendship_at = CASE WHEN friend = ? AND friend_pending IS ? THEN friendship_at ELSE ? END
         WHERE id = ?`,
      )
      .run(state === "friends" ? 1 : 0, pending, notice, state === "friends" ? 1 : 0, pending, at, id);
  }

  /** My other cells. */
  mine(): PeerRow[] {
    return (this.db.query("SELECT * FROM peers WHERE mine = 1 ORDER BY name, id").all() as RawRow[]).map(fromRaw);
  }

  /** Peers owed a friendship notice. */
  withNotice(): PeerRow[] {
    return (this.db.query("SELECT * FROM peers WHERE friend_notice IS NOT NULL ORDER BY id").all() as RawRow[]).map(fromRaw);
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
