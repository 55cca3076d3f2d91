/**
 * @module dav/app — the WebDAV sub-app (RFC 4918 classes 1 and 2) over a `DavTree`: OPTIONS,
 * PROPFIND (Depth 0 and 1; infinity on a folder is refused, 403 propfind-finite-depth), PROPPATCH
 * (dead properties), GET and HEAD (Range, ETag, If-Match/If-None-Match), PUT (streamed), DELETE,
 * MKCOL, COPY and MOVE (Depth, Overwrite), LOCK and UNLOCK (dav/locks), the If header on every
 * method. Mounted by web/app under /dav behind its own authentication; it knows nothing of the web
 * layer but what it is given (`DavOptions`).
 *
 * macOS's `._name` and `.DS_Store` (dav/paths `isMacMetadata`) are accepted and not stored: a PUT
 * reads the body and answers as if stored, a LOCK of such a name creates nothing, a DELETE of one
 * that is not there succeeds.
 */
import { Hono, type Context, type Env } from "hono";
import { badRequest, GroveError, tooLarge } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { parseRange, type ByteRange } from "../ingest/restore.ts";
import { ifHolds, parseIf, submittedTokens, timeoutOf, type IfList, type Lock, type LockManager } from "./locks.ts";
import { destinationOf, hrefOf, isMacMetadata, nameOf, parentOf, targetOf, within, type Target } from "./paths.ts";
import { activeLockXml, isProtected, propfindResponse, proppatchResponse, type LiveContext } from "./props.ts";
import type { DavEntry, DavTree } from "./tree.ts";
import { errorXml, multistatus, parseLockinfo, parseProppatch, parsePropfind, type PropName } from "./xml.ts";

export interface DavOptions {
  tree: DavTree;
  locks: LockManager;
  /** Where the app is mounted (`/dav`): every href starts with it. */
  base: string;
  /** The largest file a PUT may store (config `max_upload_bytes`). */
  maxUploadBytes(): number;
  /** The headers a stored file is served with (type, disposition, nosniff, sandbox). */
  contentHeaders(filename: string): Record<string, string>;
}

export const DAV_METHODS = [
  "OPTIONS",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
] as const;
const ALLOW = DAV_METHODS.join(", ");
const XML = { "Content-Type": "application/xml; charset=utf-8" };

const empty = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

/** Depth header: 0, 1 or infinity (the default when absent). 400 for anything else. */
function depthOf(header: string | undefined): 0 | 1 | "infinity" {
  const d = (header ?? "infinity").trim().toLowerCase();
  if (d === "0") return 0;
  if (d === "1") return 1;
  if (d === "infinity") return "infinity";
  throw badRequest("Depth must be 0, 1 or infinity");
}

/** A strong comparison of an If-Match / If-None-Match list against an entity tag (null: no file). */
function matches(list: string, etag: string | null): boolean {
  if (list.trim() === "*") return etag !== null;
  return etag !== null && list.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * The WebDAV sub-app. `E` is the mounting app's environment.
 *
 * @example app.route("/dav", davApp({ tree: new CellTree(vault), locks: new LockManager(), base: "/dav", maxUploadBytes: () => 2 ** 40, contentHeaders }))
 */
export function davApp<E extends Env>(o: DavOptions): Hono<E> {
  const { tree, locks, base } = o;
  const app = new Hono<E>();
  const href = (e: Pick<DavEntry, "path" | "folder">) => hrefOf(base, e.path, e.folder);
  const lockRootHref = (l: Lock) => hrefOf(base, l.root, tree.isFolder(l.root));
  const live = (path: string): LiveContext => ({ locks: locks.covering(path), lockRootHref });

  const target = (c: Context<E>): Target => {
    const url = new URL(c.req.url);
    // A fragment is the client's business; one sent anyway (DELETE /dav/a/#b) must not act on /dav/a/.
    if (url.hash) throw badRequest("a request URI may not carry a fragment (#)");
    return targetOf(url.pathname, base);
  };
  const text = (c: Context<E>, status: number, body: string, headers: Record<string, string> = {}) =>
    c.body(body, status as 200, { "Content-Type": "text/plain; charset=utf-8", ...headers });
  const notFound = (c: Context<E>, path: string) => text(c, 404, `nothing at /${path}\n`);
  const failed = (c: Context<E>, why: string) => text(c, 412, `precondition failed: ${why}\n`);
  const lockedBy = (c: Context<E>, l: Lock) => c.body(errorXml("lock-token-submitted", [lockRootHref(l)]), 423, XML);

  /** The If header's lists, or null without one. */
  const ifLists = (c: Context<E>): IfList[] | null => {
    const h = c.req.header("if");
    return h === undefined ? null : parseIf(h);
  };
  const tokens = (c: Context<E>) => submittedTokens(ifLists(c) ?? []);

  /** The If header holds (or is absent). */
  const ifOk = (c: Context<E>, path: string): boolean => {
    const lists = ifLists(c);
    if (!lists) return true;
    const url = new URL(c.req.url);
    const resolve = (resource: string): string | null => {
      try {
        const t = destinationOf(resource, url, base);
        return t ? t.path : null;
      } catch {
        return null;
      }
    };
    const state = (p: string) => ({ etag: tree.stat(p)?.etag ?? null, tokens: new Set(locks.covering(p).map((l) => l.token)) });
    return ifHolds(lists, path, resolve, state);
  };

  /** If-Match and If-None-Match for a write (RFC 9110 section 13): a reason to refuse (412), or null. */
  const writeMatch = (c: Context<E>, e: DavEntry | null): string | null => {
    const im = c.req.header("if-match");
    if (im !== undefined && !matches(im, e?.etag ?? null)) return "If-Match";
    const inm = c.req.header("if-none-match");
    if (inm !== undefined && matches(inm, e ? (e.etag ?? '"folder"') : null)) return "If-None-Match";
    return null;
  };

  /** The checks before any write: the If header (412), then If-Match/If-None-Match (412). */
  const preconditions = (c: Context<E>, path: string, e: DavEntry | null): Response | null => {
    if (!ifOk(c, path)) return failed(c, "the If header does not hold");
    const m = writeMatch(c, e);
    return m ? failed(c, m) : null;
  };

  app.on(["OPTIONS"], "/*", (c) => c.body(null, 200, { DAV: "1, 2", Allow: ALLOW, "MS-Author-Via": "DAV", "Content-Length": "0" }));

  app.on(["PROPFIND"], "/*", async (c) => {
    const t = target(c);
    const req = parsePropfind(await c.req.text());
    const depth = depthOf(c.req.header("depth"));
    const e = tree.stat(t.path);
    if (!e) return notFound(c, t.path);
    if (!ifOk(c, t.path)) return failed(c, "the If header does not hold");
    if (e.folder && depth === "infinity") return c.body(errorXml("propfind-finite-depth"), 403, XML);
    const entries = e.folder && depth === 1 ? [e, ...tree.children(e.path)] : [e];
    const responses = entries.map((x) => propfindResponse(x, href(x), req, tree.props.list(x.path), live(x.path)));
    return c.body(multistatus(responses), 207, XML);
  });

  app.on(["PROPPATCH"], "/*", async (c) => {
    const t = target(c);
    const ops = parseProppatch(await c.req.text());
    const e = tree.stat(t.path);
    if (!e) return notFound(c, t.path);
    const pre = preconditions(c, t.path, e);
    if (pre) return pre;
    const l = locks.blocking(t.path, tokens(c));
    if (l) return lockedBy(c, l);
    const key = (p: PropName) => `${p.ns}\n${p.name}`;
    const refused = new Set(ops.filter((x) => isProtected(x.prop)).map((x) => key(x.prop)));
    let failure = 0;
    if (refused.size === 0) {
      try {
        tree.props.patch(t.path, ops);
      } catch (err) {
        if (!(err instanceof GroveError) || err.status !== 507) throw err;
        failure = 507;
      }
    }
    const seen = new Map<string, { prop: PropName; status: number }>();
    for (const x of ops) {
      const status = refused.has(key(x.prop)) ? 403 : refused.size ? 424 : failure || 200;
      if (!seen.has(key(x.prop))) seen.set(key(x.prop), { prop: x.prop, status });
    }
    return c.body(multistatus([proppatchResponse(href(e), [...seen.values()])]), 207, XML);
  });

  app.on(["MKCOL"], "/*", async (c) => {
    const t = target(c);
    if ((await c.req.arrayBuffer()).byteLength > 0) return text(c, 415, "MKCOL takes no body\n");
    if (t.path === "" || tree.stat(t.path)) return text(c, 405, `/${t.path} exists\n`, { Allow: ALLOW });
    if (!tree.isFolder(parentOf(t.path))) return text(c, 409, `no folder /${parentOf(t.path)} to make it in\n`);
    const pre = preconditions(c, t.path, null);
    if (pre) return pre;
    const l = locks.blocking(t.path, tokens(c), { member: true });
    if (l) return lockedBy(c, l);
    await tree.makeFolder(t.path);
    log("info", "folder made over WebDAV", { path: t.path });
    return c.body(null, 201);
  });

  app.on(["GET", "HEAD"], "/*", async (c) => {
    const t = target(c);
    const e = tree.stat(t.path);
    if (!e) return notFound(c, t.path);
    if (!ifOk(c, t.path)) return failed(c, "the If header does not hold");
    if (e.folder) {
      const names = tree.children(e.path).map((x) => nameOf(x.path) + (x.folder ? "/" : ""));
      return text(c, 200, c.req.method === "HEAD" ? "" : names.join("\n") + (names.length ? "\n" : ""), {
        "X-Content-Type-Options": "nosniff",
      });
    }
    const validators = { ETag: e.etag!, "Last-Modified": new Date(e.modified).toUTCString() };
    const im = c.req.header("if-match");
    if (im !== undefined && !matches(im, e.etag)) return failed(c, "If-Match");
    const inm = c.req.header("if-none-match");
    const ims = c.req.header("if-modified-since");
    if (
      inm !== undefined ? matches(inm, e.etag) : ims !== undefined && Math.floor(e.modified / 1000) <= Math.floor(Date.parse(ims) / 1000)
    ) {
      return c.body(null, 304, validators);
    }
    let range: ByteRange | null;
    try {
      range = parseRange(c.req.header("range"), e.size);
    } catch (err) {
      if (err instanceof GroveError && err.status === 416)
        return text(c, 416, "range not satisfiable\n", { "Content-Range": `bytes */${e.size}` });
      throw err;
    }
    const ifRange = c.req.header("if-range");
    if (range && ifRange !== undefined && ifRange !== e.etag) range = null;
    const length = range ? range.end - range.start + 1 : e.size;
    const headers: Record<string, string> = {
      ...o.contentHeaders(nameOf(e.path)),
      ...validators,
      "Accept-Ranges": "bytes",
      "Content-Length": String(length),
      // Bun drops Content-Length on streamed bodies (oven-sh/bun#10507), as for /api/files.
      "X-Grove-Length": String(length),
    };
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${e.size}`;
    const status = range ? 206 : 200;
    if (c.req.method === "HEAD") return c.body(null, status, headers);
    return c.body(await tree.read(e.path, range ?? undefined), status, headers);
  });

  app.on(["PUT"], "/*", async (c) => {
    const t = target(c);
    if (t.path === "") return text(c, 405, "the root is a folder\n", { Allow: ALLOW });
    if (c.req.header("content-range")) return text(c, 400, "a PUT stores a whole file (no Content-Range)\n");
    const e = tree.stat(t.path);
    if (e?.folder) return text(c, 405, `/${t.path} is a folder\n`, { Allow: ALLOW });
    if (!tree.isFolder(parentOf(t.path))) return text(c, 409, `no folder /${parentOf(t.path)} to store it in\n`);
    const pre = preconditions(c, t.path, e);
    if (pre) return pre;
    const l = locks.blocking(t.path, tokens(c), { member: !e });
    if (l) return lockedBy(c, l);
    const max = o.maxUploadBytes();
    const len = c.req.header("content-length");
    if (len !== undefined && Number(len) > max) throw tooLarge(`upload of ${len} bytes is larger than max_upload_bytes (${max})`);
    const body = c.req.raw.body ?? empty();
    if (isMacMetadata(t.path)) {
      let n = 0;
      for await (const piece of body as unknown as AsyncIterable<Uint8Array>)
        if ((n += piece.byteLength) > max) throw tooLarge(`upload is larger than max_upload_bytes (${max} bytes)`);
      return c.body(null, e ? 204 : 201);
    }
    const stored = await tree.write(t.path, body, max);
    log("info", "stored over WebDAV", { path: t.path, size: stored.size });
    return c.body(null, e ? 204 : 201, { ETag: stored.etag! });
  });

  app.on(["DELETE"], "/*", async (c) => {
    const t = target(c);
    if (t.path === "") return text(c, 403, "the root cannot be deleted\n");
    const e = tree.stat(t.path);
    if (!e) return isMacMetadata(t.path) ? c.body(null, 204) : notFound(c, t.path);
    if (e.folder && depthOf(c.req.header("depth")) !== "infinity") return text(c, 400, "a folder is deleted with Depth: infinity\n");
    const pre = preconditions(c, t.path, e);
    if (pre) return pre;
    const l = locks.blocking(t.path, tokens(c), { member: true, deep: e.folder });
    if (l) return lockedBy(c, l);
    await tree.remove(t.path);
    locks.dropTree(t.path);
    log("info", "deleted over WebDAV (kept in history)", { path: t.path, folder: e.folder });
    return c.body(null, 204);
  });

  const copyOrMove = async (c: Context<E>, move: boolean) => {
    const t = target(c);
    const src = tree.stat(t.path);
    if (!src) return notFound(c, t.path);
    const dest = destinationOf(c.req.header("destination"), new URL(c.req.url), base);
    if (!dest) return text(c, 502, "the Destination is on another server\n");
    if (t.path === "" || dest.path === "") return text(c, 403, "the root cannot be copied, moved or overwritten\n");
    if (within(dest.path, t.path) || within(t.path, dest.path))
      return text(c, 403, "the Destination is the source, inside it, or holds it\n");
    const ow = (c.req.header("overwrite") ?? "T").trim().toUpperCase();
    if (ow !== "T" && ow !== "F") return text(c, 400, "Overwrite must be T or F\n");
    const depth = depthOf(c.req.header("depth"));
    if (src.folder && (depth === 1 || (move && depth !== "infinity")))
      return text(c, 400, `a folder is ${move ? "moved with Depth: infinity" : "copied with Depth: 0 or infinity"}\n`);
    const existing = tree.stat(dest.path);
    if (existing && ow === "F") return failed(c, "the Destination exists and Overwrite is F");
    if (!tree.isFolder(parentOf(dest.path))) return text(c, 409, `no folder /${parentOf(dest.path)} at the Destination\n`);
    const pre = preconditions(c, t.path, src);
    if (pre) return pre;
    const sent = tokens(c);
    const l =
      (move ? locks.blocking(t.path, sent, { member: true, deep: src.folder }) : null) ??
      locks.blocking(dest.path, sent, { member: !existing, deep: existing?.folder === true });
    if (l) return lockedBy(c, l);
    if (existing && (existing.folder || src.folder)) await tree.remove(dest.path);
    if (move) {
      await tree.move(t.path, dest.path);
      locks.dropTree(t.path);
    } else await tree.copy(t.path, dest.path, depth === 0 ? 0 : "infinity");
    log("info", `${move ? "moved" : "copied"} over WebDAV`, { from: t.path, to: dest.path });
    return c.body(null, existing ? 204 : 201);
  };
  app.on(["COPY"], "/*", (c) => copyOrMove(c, false));
  app.on(["MOVE"], "/*", (c) => copyOrMove(c, true));

  app.on(["LOCK"], "/*", async (c) => {
    const t = target(c);
    const body = await c.req.text();
    const timeout = timeoutOf(c.req.header("timeout"));
    if (!body.trim()) {
      // A refresh: the If header names the lock (RFC 4918 section 9.10.2).
      const sent = tokens(c);
      const lock = locks.covering(t.path).find((x) => sent.has(x.token));
      if (!lock) return failed(c, "a LOCK without a body refreshes a lock named in the If header");
      locks.refresh(lock, timeout);
      return c.body(lockBody(lock), 200, XML);
    }
    const info = parseLockinfo(body);
    const d = depthOf(c.req.header("depth"));
    if (d === 1) return text(c, 400, "a LOCK has Depth 0 or infinity\n");
    const e = tree.stat(t.path);
    if (!ifOk(c, t.path)) return failed(c, "the If header does not hold");
    const clash = locks.conflicts(t.path, d, info.scope);
    if (clash.length) return c.body(errorXml("no-conflicting-lock", clash.map(lockRootHref)), 423, XML);
    let created = false;
    if (!e) {
      // A lock on an unmapped URL makes an empty file (RFC 4918 section 9.10.4), as Finder expects.
      if (t.path === "" || !tree.isFolder(parentOf(t.path))) return text(c, 409, `no folder /${parentOf(t.path)} to make it in\n`);
      const l = locks.blocking(t.path, tokens(c), { member: true });
      if (l) return lockedBy(c, l);
      if (!isMacMetadata(t.path)) await tree.write(t.path, empty(), o.maxUploadBytes());
      created = true;
    }
    const lock = locks.create(t.path, d, info.scope, info.owner, timeout);
    return c.body(lockBody(lock), created ? 201 : 200, { ...XML, "Lock-Token": `<${lock.token}>` });
  });

  app.on(["UNLOCK"], "/*", (c) => {
    const t = target(c);
    const m = /^\s*<([^>]+)>\s*$/.exec(c.req.header("lock-token") ?? "");
    if (!m) return text(c, 400, "UNLOCK needs a Lock-Token header: <token>\n");
    const lock = locks.get(m[1]!);
    if (!lock || !(lock.root === t.path || (lock.depth === "infinity" && within(t.path, lock.root)))) {
      return c.body(errorXml("lock-token-matches-request-uri"), 409, XML);
    }
    locks.release(lock.token);
    return c.body(null, 204);
  });

  app.all("/*", (c) => text(c, 405, `${c.req.method.slice(0, 20)} is not a WebDAV method here\n`, { Allow: ALLOW }));

  function lockBody(l: Lock): string {
    return `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(l, lockRootHref(l))}</D:lockdiscovery></D:prop>\n`;
  }

  return app;
}
