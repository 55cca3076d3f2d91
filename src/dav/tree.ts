/**
 * @module dav/tree — what the WebDAV protocol needs of a file tree, and nothing of how it is kept:
 * files and folders by path, read and written as streams, copied, moved and deleted, with their
 * dead properties. dav/cell-tree implements it on one cell's index; a tree that spans several
 * cells can implement the same interface.
 */
import type { ByteRange } from "../ingest/restore.ts";
import type { PatchOp, PropName } from "./xml.ts";

/** A file or folder of the tree. */
export interface DavEntry {
  /** "" for the root. */
  path: string;
  folder: boolean;
  /** Bytes (0 for a folder). */
  size: number;
  /** The strong entity tag of a file's content (its SHA-256: dav/cell-tree `etagOf`); null for a folder. */
  etag: string | null;
  /** Unix ms. */
  modified: number;
  /** Unix ms. */
  created: number;
}

/** A dead property and its value (XML). */
export interface DeadProp extends PropName {
  value: string;
}

/** Dead properties by path (RFC 4918 section 4). */
export interface DeadPropStore {
  list(path: string): DeadProp[];
  /** Apply sets and removes in order, all or nothing. */
  patch(path: string, ops: readonly PatchOp[]): void;
}

export interface DavTree {
  /** The entry at `path`, or null. */
  stat(path: string): DavEntry | null;
  /** True when `path` is a folder (the root always is): cheaper than `stat` for a parent check. */
  isFolder(path: string): boolean;
  /** The members of the folder `path`, by path. */
  children(path: string): DavEntry[];
  /** The file's bytes (or `range` of them), verified on the way. 404 when there is no file. */
  read(path: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /** Store `body` as the file's new content (streamed; 413 past `maxBytes`). */
  write(path: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<DavEntry>;
  makeFolder(path: string): Promise<void>;
  /** Delete a file, or a folder and everything in it. */
  remove(path: string): Promise<void>;
  /** Copy a file, or a folder (depth 0: the folder alone) to `to`, which holds no folder. */
  copy(from: string, to: string, depth: 0 | "infinity"): Promise<void>;
  /** Move a file or a folder to `to`, which holds no folder. */
  move(from: string, to: string): Promise<void>;
  readonly props: DeadPropStore;
}
