/**
 * @module dav/cell-tree — the WebDAV tree of one cell, built on its index rather than on GROVE_HOME:
 * files are placement.db's current versions (`list`, `current`, `versions`), folders are the
 * folders of their paths plus the rows of store/folders, reads are ingest/restore (each chunk
 * verified), writes are ingest (like `grove put`), deletions go to history (ingest/remove), and
 * copies and moves name the same manifests at the new paths (ingest/relocate). GROVE_HOME follows
 * as it does for the local API. Made with the one tree of my cells (mine/tree-view `TreeFiles`),
 * it also lists, reads, deletes, copies and moves files only another of my cells keeps: those
 * changes are tree events alone (mine/tree-edits).
 */
import { notFound } from "../core/errors.ts";
import type { HomePath } from "../ingest/home-path.ts";
import { ingest } from "../ingest/ingest.ts";
import { makeHomeFolder, pruneHomeFolder } from "../ingest/home-folders.ts";
import { relocateFiles } from "../ingest/relocate.ts";
import { removeFiles } from "../ingest/remove.ts";
import { restoreResponseBody, type ByteRange } from "../ingest/restore.ts";
import type { Vault } from "../ingest/vault.ts";
import { FolderRows } from "../store/folders.ts";
import { readManifest } from "../store/manifest.ts";
import type { FileEntry } from "../store/placement-db.ts";
import { DeadProps } from "./dead-props.ts";
import { parentOf, rebase } from "./paths.ts";
import type { DavEntry, DavTree } from "./tree.ts";
import type { TreeFiles } from "../mine/tree-view.ts";

const home = (p: string) => p as HomePath;

/** The cell's own files alone (a CellTree made without the tree of my cells: tests of the protocol). */
function ownFiles(vault: Vault): TreeFiles {
  const open = (path: string) => {
    const cur = vault.db.current(path);
    if (!cur) return null;
    const row = vault.db.manifest(cur.manifest_hash)!;
    return { manifest: readManifest(vault.manifestsDir, row.manifest_file), manifest_hash: cur.manifest_hash, version: cur.version };
  };
  const own = (f: FileEntry) => ({ ...f, local: true, cells: [vault.owner] });
  return {
    list: (prefix = "") => vault.db.list(prefix).map(own),
    current: (path) => {
      const f = vault.db.current(path);
      return f ? own(f) : null;
    },
    open,
    forget: () => {},
    relocate: (pairs, mode, also) => relocateFiles(vault, pairs, mode, also),
  };
}

/**
 * A file's entity tag: its SHA-256 (file_hash) in base64url, 43 characters. Hex would be 64: an If
 * header with a lock token and two such tags passes 199 bytes, where litmus 0.13 cuts it.
 *
 * @example etagOf("00".repeat(32)) // '"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"'
 */
export function etagOf(fileHash: string): string {
  return `"${Buffer.from(fileHash, "hex").toString("base64url")}"`;
}

export class CellTree implements DavTree {
  readonly props: DeadProps;
  private readonly folders: FolderRows;

  private readonly files: TreeFiles;

  /** `files`: the one tree of my cells (mine/tree-view); the cell's own index when absent. */
  constructor(
    private readonly vault: Vault,
    files?: TreeFiles,
  ) {
    this.files = files ?? ownFiles(vault);
    this.props = new DeadProps(vault.db.db);
    this.folders = new FolderRows(vault.db.db);
  }

  /** A file's entry; created = when its current run of versions began (after its last deletion). */
  private fileEntry(f: FileEntry): DavEntry {
    let created = f.updated_at;
    for (const v of this.vault.db.versions(f.path)) {
      if (v.deleted) break;
      created = v.at;
    }
    return { path: f.path, folder: false, size: f.size, etag: etagOf(f.file_hash), modified: f.updated_at, created };
  }

  stat(path: string): DavEntry | null {
    const cur = path ? this.files.current(path) : null;
    if (cur) return this.fileEntry(cur);
    const row = path ? this.folders.get(path) : null;
    const files = this.files.list(path);
    if (path && !row && !files.length && !this.folders.anyUnder(path)) return null;
    let first = Infinity;
    let last = row?.created_at ?? 0;
    for (const f of files) {
      first = Math.min(first, f.updated_at);
      last = Math.max(last, f.updated_at);
    }
    const created = row?.created_at ?? (first === Infinity ? Date.now() : first);
    return { path, folder: true, size: 0, etag: null, modified: last || created, created };
  }

  isFolder(path: string): boolean {
    if (path === "" || this.folders.get(path)) return true;
    if (this.files.current(path)) return false;
    return this.folders.anyUnder(path) || this.files.list(path).length > 0;
  }

  children(path: string): DavEntry[] {
    const prefix = path ? path + "/" : "";
    const out = new Map<string, DavEntry>();
    const folders = new Map<string, { created: number; modified: number }>();
    const touch = (name: string, at: number, created?: number) => {
      const t = folders.get(name) ?? { created: created ?? at, modified: at };
      t.modified = Math.max(t.modified, at);
      if (created !== undefined) t.created = created;
      folders.set(name, t);
    };
    for (const f of this.files.list(path)) {
      const rest = f.path.slice(prefix.length);
      const i = rest.indexOf("/");
      if (i < 0) out.set(rest, this.fileEntry(f));
      else touch(rest.slice(0, i), f.updated_at);
    }
    for (const r of this.folders.under(path)) {
      const rest = r.path.slice(prefix.length);
      const i = rest.indexOf("/");
      if (i < 0) touch(rest, r.created_at, r.created_at);
      else touch(rest.slice(0, i), r.created_at);
    }
    for (const [name, t] of folders) {
      if (!out.has(name))
        out.set(name, { path: prefix + name, folder: true, size: 0, etag: null, modified: t.modified, created: t.created });
    }
    return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(path: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const cur = this.files.open(path);
    if (!cur) throw notFound(`no file at '${path}'`);
    return restoreResponseBody(this.vault, cur.manifest, range);
  }

  async write(path: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<DavEntry> {
    await ingest(this.vault, home(path), body, { maxBytes });
    return this.stat(path)!;
  }

  async makeFolder(path: string): Promise<void> {
    this.folders.add(path);
    await makeHomeFolder(this.vault.home, home(path));
  }

  async remove(path: string): Promise<void> {
    const entry = this.stat(path);
    if (!entry) throw notFound(`nothing at '${path}'`);
    const files = entry.folder ? this.files.list(path).map((f) => home(f.path)) : [home(path)];
    // Files of another of my cells that this one does not keep: deleted by a tree event alone.
    const kept = files.filter((p) => this.vault.db.current(p));
    const away = files.filter((p) => !this.vault.db.current(p));
    await removeFiles(this.vault, kept, () => {
      this.files.forget(away);
      if (entry.folder) this.folders.removeTree(path);
      this.props.drop(path);
      this.folders.add(parentOf(path)); // a folder does not vanish with its last member
    });
    for (const p of away) this.vault.stored?.emit(p);
    if (entry.folder) await pruneHomeFolder(this.vault.home, home(path));
  }

  async copy(from: string, to: string, depth: 0 | "infinity"): Promise<void> {
    const entry = this.stat(from);
    if (!entry) throw notFound(`nothing at '${from}'`);
    if (!entry.folder) {
      await this.files.relocate([{ from: home(from), to: home(to) }], "copy", () => this.props.copy(from, to, false));
      return;
    }
    const deep = depth === "infinity";
    const pairs = deep ? this.files.list(from).map((f) => ({ from: home(f.path), to: home(rebase(f.path, from, to)) })) : [];
    const rows = deep ? this.folders.under(from).map((r) => rebase(r.path, from, to)) : [];
    await this.files.relocate(pairs, "copy", () => {
      this.folders.add(to);
      for (const r of rows) this.folders.add(r);
      this.props.copy(from, to, deep);
    });
    for (const r of [to, ...rows]) await makeHomeFolder(this.vault.home, home(r));
  }

  async move(from: string, to: string): Promise<void> {
    const entry = this.stat(from);
    if (!entry) throw notFound(`nothing at '${from}'`);
    if (!entry.folder) {
      await this.files.relocate([{ from: home(from), to: home(to) }], "move", () => {
        this.props.move(from, to);
        this.folders.add(parentOf(from));
      });
      return;
    }
    const pairs = this.files.list(from).map((f) => ({ from: home(f.path), to: home(rebase(f.path, from, to)) }));
    const rows = this.folders.under(from);
    const own = this.folders.get(from);
    await this.files.relocate(pairs, "move", () => {
      this.folders.removeTree(from);
      this.folders.add(to, own?.created_at);
      for (const r of rows) this.folders.add(rebase(r.path, from, to), r.created_at);
      this.props.move(from, to);
      this.folders.add(parentOf(from));
    });
    for (const r of [to, ...rows.map((x) => rebase(x.path, from, to))]) await makeHomeFolder(this.vault.home, home(r));
    await pruneHomeFolder(this.vault.home, home(from));
  }
}
