/**
 * @module web/api/files — /api/files: list, upload (raw streamed body), download (Range; served
 * as web/user-content says: inline only for types that cannot run script),
 * metadata and versions, verification, delete-to-history, restoring an older version, purging
 * versions from the history (?purge=N|all).
 */
import { Hono, type Context } from "hono";
import { posix } from "node:path";
import { badRequest, GroveError, notFound, tooLarge } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { ingest } from "../../ingest/ingest.ts";
import { safeDir, safePath, type HomePath } from "../../ingest/home-path.ts";
import { removeFile } from "../../ingest/remove.ts";
import { restoreVersion } from "../../ingest/restore-version.ts";
import { purgeVersions } from "../../trash/history.ts";
import { parseRange, restoreResponseBody, verifyFile, type ByteRange } from "../../ingest/restore.ts";
import { readManifest, type Manifest } from "../../store/manifest.ts";
import type { ManifestHash } from "../../core/types.ts";
import type { Cell } from "../../cell/cell.ts";
import { currentAt, deleteFromTree, fileAt, listTree } from "../../mine/tree-view.ts";
import type { WebEnv } from "../context.ts";
import { userContentHeaders } from "../user-content.ts";

export const PREFIX = "/api/files/";

export { parseRange };

/** The file path of a request under /api/files/, decoded and checked. */
export function pathFromRequest(c: Context<WebEnv>): HomePath {
  const raw = new URL(c.req.url).pathname;
  const rest = raw.startsWith(PREFIX) ? raw.slice(PREFIX.length) : "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw badRequest("path is not valid percent-encoding");
  }
  return safePath(decoded);
}

/** The manifest of `path` at `version` (default: current). 404 when absent or deleted. */
export function manifestFor(
  cell: Cell,
  path: HomePath,
  version?: number,
): { manifest: Manifest; manifest_hash: ManifestHash; version: number } {
  if (version === undefined) {
    // The one tree decides what is current (mine/tree-view): a file of another of my cells opens here too.
    const cur = currentAt(cell, path);
    if (!cur) throw notFound(`no file at '${path}'`);
    return cur;
  }
  const v = cell.db.versions(path).find((x) => x.version === version);
  if (!v) throw notFound(`'${path}' has no version ${version}`);
  if (!v.manifest_hash) throw notFound(`version ${version} of '${path}' is a deletion`);
  const row = cell.db.manifest(v.manifest_hash)!;
  return { manifest: readManifest(cell.layout.manifests, row.manifest_file), manifest_hash: v.manifest_hash, version };
}

function versionParam(c: Context<WebEnv>): number | undefined {
  const v = c.req.query("version");
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw badRequest("version must be a positive integer");
  return Number(v);
}

export const filesApi = new Hono<WebEnv>();

filesApi.get("/", (c) => {
  const prefix = safeDir(c.req.query("prefix"));
  return c.json({ files: listTree(c.var.cell, prefix) });
});

filesApi.put("/*", async (c) => {
  const cell = c.var.cell;
  const path = pathFromRequest(c);
  const len = c.req.header("content-length");
  if (len !== undefined && Number(len) > cell.config.max_upload_bytes) {
    throw tooLarge(`upload of ${len} bytes is larger than max_upload_bytes (${cell.config.max_upload_bytes})`);
  }
  const body = c.req.raw.body ?? new ReadableStream({ start: (ctl) => ctl.close() });
  const announced = len !== undefined && /^\d{1,15}$/.test(len) ? Number(len) : undefined;
  const r = await ingest(cell.vault, path, body, {
    maxBytes: cell.config.max_upload_bytes,
    expectedSize: announced,
    ownPieces: c.env?.server !== undefined,
  });
  log("info", r.created ? "stored" : "unchanged", { path, version: r.version, size: r.manifest.total_size, new_chunks: r.new_chunks });
  return c.json({ path, ...r }, r.created ? 201 : 200);
});

filesApi.on(["GET", "HEAD"], "/*", async (c) => {
  const cell = c.var.cell;
  const path = pathFromRequest(c);
  if (c.req.query("meta") !== undefined) {
    const versions = cell.db.versions(path);
    const listed = fileAt(cell, path);
    if (versions.length === 0 && !listed) throw notFound(`no file at '${path}'`);
    const cur = listed;
    const sel = cur || versionParam(c) ? manifestFor(cell, path, versionParam(c)) : null;
    return c.json({ path, deleted: !cur, current: cur, ...(sel ?? {}), versions });
  }
  const { manifest, version } = manifestFor(cell, path, versionParam(c));
  if (c.req.query("verify") !== undefined) {
    const problems = await verifyFile(cell.vault, manifest);
    if (problems.length) log("error", "verification failed", { path, problems: problems.length });
    return c.json({ path, version, ok: problems.length === 0, chunks: manifest.chunks.length, problems }, problems.length ? 500 : 200);
  }
  const size = manifest.total_size;
  let range: ByteRange | null;
  try {
    range = parseRange(c.req.header("range"), size);
  } catch (e) {
    if (e instanceof GroveError && e.status === 416) return c.json({ error: e.message }, 416, { "Content-Range": `bytes */${size}` });
    throw e;
  }
  const headers: Record<string, string> = {
    // The path's own name: a file copied or moved over WebDAV keeps the manifest (and its filename) it had.
    ...userContentHeaders(posix.basename(path), c.req.query("download") !== undefined),
    "Accept-Ranges": "bytes",
    ETag: `"${manifest.file_hash}"`,
    "X-Grove-Version": String(version),
  };
  const ifRange = c.req.header("if-range");
  const useRange = range && (!ifRange || ifRange === headers.ETag) ? range : null;
  const length = useRange ? useRange.end - useRange.start + 1 : size;
  if (useRange) headers["Content-Range"] = `bytes ${useRange.start}-${useRange.end}/${size}`;
  headers["Content-Length"] = String(length);
  // Bun.serve drops Content-Length on streamed bodies (oven-sh/bun#10507) and sends chunked
  // encoding; X-Grove-Length carries the exact length so clients can detect a cut-off transfer.
  headers["X-Grove-Length"] = String(length);
  const status = useRange ? 206 : 200;
  if (c.req.method === "HEAD") return c.body(null, status, headers);
  const stream = await restoreResponseBody(cell.vault, manifest, useRange ?? undefined);
  return c.body(stream, status, headers);
});

// POST /api/files/<path>?restore=N: version N becomes current again (a new version).
filesApi.post("/*", async (c) => {
  const raw = c.req.query("restore");
  if (raw === undefined) throw badRequest("POST /api/files/<path> takes ?restore=VERSION");
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw badRequest("restore must be a version number (see ?meta)");
  const cell = c.var.cell;
  const r = await restoreVersion(cell.vault, pathFromRequest(c), Number(raw));
  log("info", r.changed ? "restored an older version" : "restore: already current", {
    path: r.path,
    from: r.restored_from,
    version: r.version,
  });
  return c.json({ ...r, versions: cell.db.versions(r.path) }, r.changed ? 201 : 200);
});

filesApi.delete("/*", async (c) => {
  const cell = c.var.cell;
  const path = pathFromRequest(c);
  // ?purge=N|all: drop versions from the history for good (after the trash time; trash/history).
  const purge = c.req.query("purge");
  if (purge !== undefined) {
    if (purge !== "all" && (!/^\d{1,9}$/.test(purge) || Number(purge) < 1)) throw badRequest("purge must be a version number or 'all'");
    const r = purgeVersions(cell.db.db, path, purge === "all" ? "all" : Number(purge), { trashRetentionS: cell.config.trash_retention_s });
    log("info", "purged from history (in the trash until collected)", { path, versions: r.purged.join(","), chunks: r.trashed_chunks });
    return c.json({ ...r, versions: cell.db.versions(path) });
  }
  if (!cell.db.current(path) && deleteFromTree(cell, path, cell.config.name)) {
    // A file of another of my cells, not kept here: the deletion is an event they follow.
    cell.vault.stored?.emit(path);
    log("info", "deleted from my cells' tree (kept in history where it was stored)", { path });
    return c.json({ path, deleted: true, version: null, versions: [] });
  }
  const version = await removeFile(cell.vault, path);
  log("info", "deleted (kept in history)", { path, version });
  return c.json({ path, deleted: true, version, versions: cell.db.versions(path) });
});
