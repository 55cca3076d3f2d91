/**
 * @module tree/materialize — the tree as a pure function of a set of tree events (docs/design.md,
 * "One tree across my cells"). The same set gives the same tree on every cell, in whatever order
 * the events arrived, which is why my cells converge once each holds every event.
 *
 * The rule, in four steps:
 *  1. An event is *replaced* when another event in the set names it in `replaces`. The rest are heads.
 *  2. A head put or move is a live entry at its `path`; a head delete is only a tombstone.
 *  3. At a path with several live entries (changes no cell saw the others of), the greatest
 *     (stamp, origin) is current, as in Syncthing (the later change wins, a tie goes to the larger
 *     cell id). An edit made concurrently with a delete stays: nothing is lost to a delete.
 *  4. Every other live entry is kept as a conflict copy beside it,
 *     `name (conflict CELLNAME YYYY-MM-DD HHMMSS).ext`, numbered " 2", " 3", … if that name is
 *     taken. Copies are placed after every current path, in a fixed order, so all cells agree.
 * Editing or deleting a conflict copy is an event that replaces the loser, so the copy goes away
 * everywhere.
 */
import type { ManifestHash } from "../core/types.ts";
import { compareStamps } from "./hlc.ts";
import { eventId, type EventId, type TreeEvent } from "./events.ts";

/** One file of the tree. */
export interface TreeEntry {
  readonly manifest: ManifestHash;
  /** The event that put it there. */
  readonly event: EventId;
  /** For a conflict copy: the path it lost at. */
  readonly conflictOf?: string;
}

/** Greatest first: later stamp, then larger origin id. */
export function newestFirst(a: TreeEvent, b: TreeEvent): number {
  return compareStamps(b.at, a.at) || (a.origin < b.origin ? 1 : a.origin > b.origin ? -1 : 0);
}

/** The tree the events describe: path → entry, sorted by path. */
export function materialize(events: Iterable<TreeEvent>): Map<string, TreeEntry> {
  const all = new Map<EventId, TreeEvent>();
  for (const e of events) all.set(eventId(e), e);
  const replaced = new Set<EventId>();
  for (const e of all.values()) for (const r of e.replaces) replaced.add(r);

  const live = new Map<string, TreeEvent[]>();
  for (const [id, e] of all) {
    if (replaced.has(id) || e.kind === "delete") continue;
    const at = live.get(e.path);
    if (at) at.push(e);
    else live.set(e.path, [e]);
  }

  const tree = new Map<string, TreeEntry>();
  const losers: { path: string; e: TreeEvent }[] = [];
  for (const [path, entries] of live) {
    entries.sort(newestFirst);
    const [winner, ...rest] = entries;
    tree.set(path, { manifest: winner!.manifest!, event: eventId(winner!) });
    for (const e of rest) losers.push({ path, e });
  }
  losers.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : newestFirst(a.e, b.e)));
  for (const { path, e } of losers) {
    const base = conflictName(path, e.by, e.at.wall);
    let name = base;
    for (let i = 2; tree.has(name); i++) name = numbered(base, i);
    tree.set(name, { manifest: e.manifest!, event: eventId(e), conflictOf: path });
  }
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `dir/name (conflict CELL 2026-12-05 153000).ext`: the date in UTC; the extension kept last. */
export function conflictName(path: string, cellName: string, wallMs: number): string {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash + 1);
  const file = path.slice(slash + 1);
  const dot = file.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [file.slice(0, dot), file.slice(dot)] : [file, ""];
  const iso = new Date(wallMs).toISOString(); // 2026-12-05T15:30:00.000Z
  const date = `${iso.slice(0, 10)} ${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  const cell = cellName.replace(/[/\\()\u0000-\u001f\u007f]/g, "_").slice(0, 40) || "cell";
  const tail = ` (conflict ${cell} ${date})${ext}`;
  // A file name takes 255 bytes at most (and " 99" may be added): shorten the stem, never the tail.
  let chars = [...stem];
  while (chars.length > 1 && Buffer.byteLength(chars.join("") + tail) > 250) chars = chars.slice(0, -1);
  return `${dir}${chars.join("")}${tail}`;
}

export function numbered(name: string, i: number): string {
  const close = name.lastIndexOf(")");
  return `${name.slice(0, close)} ${i}${name.slice(close)}`;
}
