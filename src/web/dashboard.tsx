/** @jsxImportSource hono/jsx */
/**
 * @module web/dashboard — server-rendered pages: first-run setup (localhost only, with the setup
 * code `grove start` printed), login (throttled per address: web/login-throttle) and
 * logout, the Files tab (browse, upload, download, delete, details with versions to restore or
 * purge; share files with friends from a file's page or the Share dialog for the files checked
 * in the list), the
 * Feed (files friends shared with us: download, preview; what we shared: revoke), Peers, Storage
 * (placement and "Sync now"), Chat (web/chat-pages; its Assistant: web/assistant-pages), Bounty
 * (web/bounty-pages) and Settings.
 *
 * Forms before login use a double-submit CSRF cookie; after login every state change carries
 * the session's CSRF token (hidden field or htmx header), checked by web/auth.
 */
import { Hono, type Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { fromLoopback, remoteAddress } from "./remote.ts";
import { randomBytes } from "node:crypto";
import { log } from "../core/log.ts";
import { cellStatus } from "./api/status.ts";
import { GroveError, badRequest, errorMessage, forbidden, notFound, unauthorized, unknownRoute } from "../core/errors.ts";
import { safeDir, safePath } from "../ingest/home-path.ts";
import { removeFile } from "../ingest/remove.ts";
import { restoreVersion } from "../ingest/restore-version.ts";
import { purgeVersions } from "../trash/history.ts";
import { readManifest } from "../store/manifest.ts";
import { SetupPage, LoginPage } from "../../views/auth-pages.tsx";
import { FilesPage, FileList, FileDetailPage, listing } from "../../views/files.tsx";
import { SettingsPage } from "../../views/settings.tsx";
import { PeersPage, PeerList, InviteBox, JoinResult } from "../../views/peers.tsx";
import { StoragePage, StorageBody, type SyncState } from "../../views/storage.tsx";
import { FeedPage, FeedPreview, ShareRow, TEXT_PREVIEW_BYTES, baseType, previewKind, safeContentType, type FeedState } from "../../views/feed.tsx";
import { MAX_SHARE_FILES, MAX_SHARE_FRIENDS, SharePage, ShareResult, type SharePairResult, type ShareResults } from "../../views/share-dialog.tsx";
import type { FeedItem, SharingService } from "../share/types.ts";
import { nearbyCells, peerView } from "./api/fleet.ts";
import { placementReport } from "../sync/placement-report.ts";
import { summarize } from "../sync/summary.ts";
import type { WebServices } from "./services.ts";
import type { PageInfo } from "../../views/layout.tsx";
import type { WebEnv } from "./context.ts";
import { SESSION_COOKIE, SESSION_TTL_MS, type SessionStore } from "./sessions.ts";
import { sameSecret, sentCsrf } from "./auth.ts";
import { MIN_PASSWORD_LENGTH, type PasswordFile } from "./password.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import type { SetupCode } from "./setup-code.ts";
import { disposition } from "./user-content.ts";
import { safeFilename } from "../core/safe-filename.ts";
import { chatPages } from "./chat-pages.tsx";
import { assistantPages } from "./assistant-pages.tsx";
import { bountyPages } from "./bounty-pages.tsx";
import { updatePages } from "./update-pages.tsx";
import { offeredUpdate } from "../update/lifecycle.ts";

const FORM_CSRF_COOKIE = "grove_form_csrf";

/** How long "Sync now" waits for its round before answering "still running" (the tab then polls). */
const SYNC_WAIT_MS = 20_000;

function formToken(c: Context<WebEnv>): string {
  let t = getCookie(c, FORM_CSRF_COOKIE);
  if (!t || t.length > 100) {
    t = randomBytes(18).toString("base64url");
    setCookie(c, FORM_CSRF_COOKIE, t, { httpOnly: true, sameSite: "Strict", path: "/" });
  }
  return t;
}

async function checkFormToken(c: Context<WebEnv>): Promise<void> {
  const cookie = getCookie(c, FORM_CSRF_COOKIE);
  const sent = await sentCsrf(c);
  if (!cookie || !sent || !sameSecret(cookie, sent)) throw forbidden("form expired or missing CSRF token: reload the page and try again");
}

async function formField(c: Context<WebEnv>, name: string): Promise<string> {
  const body = await c.req.parseBody().catch(() => {
    throw badRequest("malformed form body");
  });
  const v = body[name];
  return typeof v === "string" ? v : "";
}

function startSession(c: Context<WebEnv>, sessions: SessionStore) {
  const { token } = sessions.create();
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/", maxAge: SESSION_TTL_MS / 1000 });
}

function info(c: Context<WebEnv>, title: string, active?: string): PageInfo {
  const cell = c.var.cell;
  // The update banner on every tab but Settings, which has its own section.
  const update = c.var.session && active !== "settings" ? offeredUpdate(cell.layout.dir) : null;
  return { title, cellName: cell.config.name, cellId: cell.keys.id, csrf: c.var.session?.csrf, active, update };
}

/** Cookie requests that change state must carry the session's CSRF token. */
async function requireCsrf(c: Context<WebEnv>): Promise<void> {
  const sent = await sentCsrf(c);
  if (!sent || !c.var.session || !sameSecret(sent, c.var.session.csrf)) throw forbidden("missing or wrong CSRF token");
}

/** The first `max` bytes of a stream (then it is cancelled: no more chunks are fetched). */
async function readHead(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(parts).subarray(0, max);
}

const statusOf = (e: unknown): number => (e instanceof GroveError ? e.status : 500);

/** The dashboard's own state: sessions, the password, the throttle and the first-run code. */
export interface DashboardDeps {
  sessions: SessionStore;
  password: PasswordFile;
  /** Wrong passwords and setup codes, per source address (web/login-throttle). */
  throttle: LoginThrottle;
  setupCode: SetupCode;
}

/** The answer to a try the throttle refused: at once, saying why and for how long. */
function refusedTry(gate: { reason: "throttled" | "busy"; waitS: number }): { status: 429 | 503; error: string; waitS: number } {
  if (gate.reason === "throttled") {
    return { status: 429, waitS: gate.waitS, error: `Too many wrong tries from your address. Wait ${gate.waitS} s, then try again.` };
  }
  return { status: 503, waitS: gate.waitS, error: "The cell is checking other login attempts right now. Try again in a moment." };
}

export function dashboard(s: WebServices, { sessions, password, throttle, setupCode }: DashboardDeps) {
  const app = new Hono<WebEnv>();
  const base = (c: Context<WebEnv>) => ({ cellName: c.var.cell.config.name, cellId: c.var.cell.keys.id });

  // Pages below need a session; setup and login are open.
  app.use("*", async (c, next) => {
    const open = ["/setup", "/login"].includes(c.req.path);
    if (open || c.var.auth === "session") return next();
    // API clients (bearer token) never get login redirects: only the API's own answers.
    if (c.var.auth === "bearer") throw unknownRoute(c.req.method, c.req.path);
    // htmx requests (any method) follow HX-Redirect: an expired session lands on the login page.
    if (c.req.header("hx-request")) return c.body(null, 401, { "HX-Redirect": "/login" });
    if (c.req.method !== "GET" && c.req.method !== "HEAD") throw unauthorized("log in to the dashboard first");
    return c.redirect(password.isSet() ? "/login" : "/setup");
  });

  app.get("/", (c) => c.redirect("/files"));

  app.get("/setup", (c) => {
    if (password.isSet()) return c.redirect("/login");
    return c.html(<SetupPage {...base(c)} allowed={fromLoopback(c)} codeFile={c.var.cell.layout.setupCode} formCsrf={formToken(c)} />);
  });

  // First run: the password, from this machine, with the one-time code `grove start` printed.
  app.post("/setup", async (c) => {
    if (password.isSet()) return c.redirect("/login");
    if (!fromLoopback(c)) throw forbidden("the first password can only be set from this machine (localhost)");
    await checkFormToken(c);
    const from = remoteAddress(c);
    const page = (status: 400 | 403 | 429, error: string) => c.html(<SetupPage {...base(c)} allowed codeFile={c.var.cell.layout.setupCode} formCsrf={formToken(c)} error={error} />, status);
    const waitS = throttle.waitFor(from);
    if (waitS > 0) return c.header("Retry-After", String(waitS)), page(429, refusedTry({ reason: "throttled", waitS }).error);
    if (!setupCode.matches(await formField(c, "code"))) {
      throttle.failed(from);
      log("warn", "first-run setup refused: wrong setup code", { from });
      return page(403, "That is not this cell's setup code. It was printed when the cell started, and is in the setup_code file of its folder.");
    }
    const pw = await formField(c, "password");
    const confirm = await formField(c, "confirm");
    const error =
      pw.length < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : pw.length > 1024 ? "That password is too long." : pw !== confirm ? "The two passwords differ." : null;
    if (error) return page(400, error);
    throttle.succeeded(from);
    await password.set(pw);
    setupCode.clear();
    log("info", "dashboard password set (first-run setup)");
    startSession(c, sessions);
    return c.redirect("/files", 303);
  });

  app.get("/login", (c) => {
    if (!password.isSet()) return c.redirect("/setup");
    if (c.var.auth === "session") return c.redirect("/files");
    return c.html(<LoginPage {...base(c)} formCsrf={formToken(c)} />);
  });

  // A wrong password costs the address a growing wait; a try refused for it runs no check.
  app.post("/login", async (c) => {
    if (!password.isSet()) return c.redirect("/setup");
    await checkFormToken(c);
    const from = remoteAddress(c);
    const pw = await formField(c, "password");
    const gate = await throttle.enter(from);
    if (!gate.ok) {
      const r = refusedTry(gate);
      log("warn", `dashboard login not tried: ${gate.reason}`, { from, wait_s: r.waitS });
      c.header("Retry-After", String(r.waitS));
      return c.html(<LoginPage {...base(c)} formCsrf={formToken(c)} error={r.error} waitS={r.waitS} />, r.status);
    }
    let ok: boolean;
    try {
      ok = pw.length <= 1024 && (await password.check(pw));
    } finally {
      gate.release();
    }
    if (!ok) {
      throttle.failed(from);
      const waitS = throttle.waitFor(from);
      log("warn", "dashboard login failed", { from });
      const error = waitS > 0 ? `Wrong password. Wait ${waitS} s before the next try.` : "Wrong password.";
      return c.html(<LoginPage {...base(c)} formCsrf={formToken(c)} error={error} waitS={waitS || undefined} />, 401);
    }
    throttle.succeeded(from);
    startSession(c, sessions);
    return c.redirect("/files", 303);
  });

  app.post("/logout", async (c) => {
    await requireCsrf(c);
    sessions.destroy(c.var.session!.token);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });

  app.get("/files", (c) => {
    const dir = safeDir(c.req.query("dir"));
    const l = listing(dir, c.var.cell.db.list(dir));
    return c.html(<FilesPage {...info(c, dir ? `Files · ${dir}` : "Files", "files")} l={l} share={s.sharing != null} />);
  });

  app.get("/files/list", (c) => {
    const dir = safeDir(c.req.query("dir"));
    return c.html(<FileList l={listing(dir, c.var.cell.db.list(dir))} share={s.sharing != null} />);
  });

  app.post("/files/delete", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const dir = safeDir(await formField(c, "dir"));
    const cell = c.var.cell;
    await removeFile(cell.vault, path);
    log("info", "deleted from dashboard (kept in history)", { path });
    return c.html(<FileList l={listing(dir, cell.db.list(dir))} share={s.sharing != null} />);
  });

  // A file's page, per version: Restore (it becomes current again, as a new version) and Purge
  // (out of the history, into the trash). htmx; the browser then loads the page again.
  const versionField = (raw: string): number => {
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw badRequest("version must be a version number");
    return Number(raw);
  };
  const reload = (c: Context<WebEnv>, url: string) => c.body(null, 200, { "HX-Redirect": url });
  const detailUrl = (path: string) => `/files/detail?path=${encodeURIComponent(path)}`;

  app.post("/files/restore", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const r = await restoreVersion(c.var.cell.vault, path, versionField(await formField(c, "version")));
    log("info", "restored an older version from the dashboard", { path, from: r.restored_from, version: r.version });
    return reload(c, detailUrl(path));
  });

  app.post("/files/purge", async (c) => {
    await requireCsrf(c);
    const cell = c.var.cell;
    const path = safePath(await formField(c, "path"));
    const raw = await formField(c, "version");
    const r = purgeVersions(cell.db.db, path, raw === "all" ? "all" : versionField(raw), { trashRetentionS: cell.config.trash_retention_s });
    log("info", "purged from the dashboard (in the trash until collected)", { path, versions: r.purged.join(","), chunks: r.trashed_chunks });
    // Every version gone (a deleted file purged whole): back to its folder.
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    return reload(c, cell.db.versions(path).length ? detailUrl(path) : dir ? `/files?dir=${encodeURIComponent(dir)}` : "/files");
  });

  /** Sharing (every running cell has it; the views still say when one does not). */
  const sharingOf = (): SharingService | null => s.sharing;
  const needSharing = (): SharingService => s.sharing;

  /** Peers marked as friends: whom the Share box and dialog offer. */
  const friendOptions = () => s.peers.list().filter((p) => p.friend).map((p) => ({ id: p.id, name: p.name }));

  const fileDetail = (c: Context<WebEnv>, path: string) => {
    const cell = c.var.cell;
    const versions = cell.db.versions(path);
    if (!versions.length) throw notFound(`no file at '${path}'`);
    const cur = cell.db.current(path);
    const row = cur ? cell.db.manifest(cur.manifest_hash) : null;
    const manifest = row ? readManifest(cell.layout.manifests, row.manifest_file) : null;
    const share = { available: sharingOf() !== null, friends: friendOptions() };
    return c.html(<FileDetailPage {...info(c, path, "files")} path={path} manifest={manifest} manifestHash={cur?.manifest_hash ?? null} versions={versions} share={share} trashRetentionS={cell.config.trash_retention_s} />);
  };

  app.get("/files/detail", (c) => fileDetail(c, safePath(c.req.query("path") ?? "")));

  /**
   * The files chosen for the Share dialog: distinct, each through safePath, at most
   * MAX_SHARE_FILES. On a problem, no paths and a message saying what to do.
   */
  const chosenPaths = (raw: string[]): { paths: string[]; error?: string } => {
    const distinct = [...new Set(raw.filter((p) => p !== ""))];
    if (!distinct.length) return { paths: [], error: "Choose at least one file to share: tick it in the Files list." };
    if (distinct.length > MAX_SHARE_FILES) {
      return { paths: [], error: `Too many files: at most ${MAX_SHARE_FILES} can be shared at once (${distinct.length} were chosen). Share them in smaller batches.` };
    }
    const paths: string[] = [];
    for (const p of distinct) {
      try {
        paths.push(safePath(p));
      } catch (e) {
        return { paths: [], error: `Cannot share '${p.slice(0, 200)}': ${errorMessage(e)}.` };
      }
    }
    return { paths: [...new Set(paths)] };
  };

  /** The Files folder the dialog came from ("" when absent or not a valid folder). */
  const backDir = (raw: string | undefined): string => {
    try {
      return safeDir(raw);
    } catch {
      return "";
    }
  };

  const sharePage = (
    c: Context<WebEnv>,
    paths: string[],
    opts: { dir: string; error?: string; chosen?: string[]; expires?: string; results?: ShareResults },
    status: 200 | 400 = 200,
  ) => {
    const cell = c.var.cell;
    const files = paths.map((path) => ({ path, size: cell.db.current(path)?.size ?? null }));
    return c.html(<SharePage {...info(c, "Share", "files")} available={sharingOf() !== null} files={files} friends={friendOptions()} {...opts} />, status);
  };

  // The Share dialog for the files checked in the Files list ("Share selected…", a GET form).
  app.get("/share", (c) => {
    const { paths, error } = chosenPaths(c.req.queries("path") ?? []);
    return sharePage(c, paths, { dir: backDir(c.req.query("dir")), error }, error ? 400 : 200);
  });

  // Share every chosen file with every chosen friend, one after the other: htmx gets the result
  // lines (one per file and friend); a plain form post the dialog page with them. Nothing is
  // shared when the choice is not valid (no file or friend, too many, a bad path or expiry).
  app.post("/share", async (c) => {
    await requireCsrf(c);
    const body = await c.req.parseBody({ all: true }).catch(() => {
      throw badRequest("malformed form body");
    });
    const values = (name: string): string[] => {
      const v = body[name];
      return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string");
    };
    const { paths, error: pathError } = chosenPaths(values("path"));
    const peers = [...new Set(values("peer").map((p) => p.trim()).filter((p) => p !== ""))];
    const expires = (values("expires_s")[0] ?? "").trim();
    const expiresInS = expires ? Number(expires) : undefined;
    const sharing = sharingOf();
    const error =
      pathError ??
      (!sharing
        ? "Sharing is not available in this cell."
        : peers.length === 0
          ? "Choose at least one friend to share with."
          : peers.length > MAX_SHARE_FRIENDS
            ? `Too many friends: at most ${MAX_SHARE_FRIENDS} at once (${peers.length} were chosen).`
            : expiresInS !== undefined && (!Number.isInteger(expiresInS) || expiresInS < 1)
              ? "Choose an expiry from the list."
              : undefined);
    const lines: SharePairResult[] = [];
    if (!error && sharing) {
      const names = new Map<string, string>(s.peers.list().map((p) => [p.id, p.name]));
      for (const path of paths) {
        for (const peer of peers) {
          const peerName = names.get(peer) ?? peer.slice(0, 16);
          try {
            const v = await sharing.share(path, peer, expiresInS);
            lines.push({ path, peer: v.to, peerName: v.to_name, ok: true, message: `Shared ${v.filename} with ${v.to_name}.`, pending: !v.delivered, pendingWhy: v.delivery_error });
          } catch (e) {
            lines.push({ path, peer, peerName, ok: false, message: `Could not share ${path} with ${peerName}: ${errorMessage(e)}` });
          }
        }
      }
    }
    const results: ShareResults = { error, lines };
    if (c.req.header("hx-request")) return c.html(<ShareResult r={results} />);
    const dir = backDir(values("dir")[0]);
    return sharePage(c, paths, { dir, error: pathError, chosen: peers, expires, results }, error ? 400 : 200);
  });

  const feedState = (error?: string): FeedState => {
    const sh = sharingOf();
    return { available: sh !== null, items: sh?.feed() ?? [], shares: sh?.shares() ?? [], error };
  };

  app.get("/feed", (c) => c.html(<FeedPage {...info(c, "Feed", "feed")} {...feedState()} />));

  // A received file, fetched from the sharer or any cell holding it. A refusal (revoked, expired,
  // unreachable) comes before any byte and is shown in the Feed page.
  app.get("/feed/:id/download", async (c) => {
    const sharing = needSharing();
    try {
      const { item, body } = await sharing.open(c.req.param("id"));
      return c.body(body, 200, {
        "Content-Type": safeContentType(item.file_type),
        "Content-Disposition": disposition("attachment", safeFilename(item.filename)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
      });
    } catch (e) {
      return c.html(<FeedPage {...info(c, "Feed", "feed")} {...feedState(`Could not download: ${errorMessage(e)}`)} />, statusOf(e) as 400);
    }
  });

  // The preview fragment (htmx, lazy): the first bytes of a text file, or an <img> of a raster
  // image. Always 200, problems included, so htmx swaps the message in.
  app.get("/feed/:id/preview", async (c) => {
    const sharing = sharingOf();
    if (!sharing) return c.html(<p class="notice">Sharing is not available in this cell.</p>);
    const id = c.req.param("id");
    let item: FeedItem;
    try {
      item = sharing.feedItem(id);
    } catch (e) {
      return c.html(<p class="error preview-error" role="alert">{errorMessage(e)}</p>);
    }
    if (item.state !== "available" || previewKind(item.file_type) !== "text") return c.html(<FeedPreview item={item} />);
    try {
      const opened = await sharing.open(id);
      const head = await readHead(opened.body, TEXT_PREVIEW_BYTES);
      // stream: true leaves out a character cut in half at the end of the head.
      const text = new TextDecoder("utf-8").decode(head, { stream: true });
      return c.html(<FeedPreview item={opened.item} text={text} truncated={opened.item.size > TEXT_PREVIEW_BYTES} />);
    } catch (e) {
      return c.html(<FeedPreview item={item} error={`Could not load the preview: ${errorMessage(e)}`} />);
    }
  });

  // A received raster image shown inline (the preview's <img>). Nothing else is served inline:
  // not SVG (it can carry script), not HTML or any other type.
  app.get("/feed/:id/inline", async (c) => {
    const sharing = needSharing();
    const id = c.req.param("id");
    const item = sharing.feedItem(id);
    if (previewKind(item.file_type) !== "image") throw new GroveError(`'${item.filename}' (${baseType(item.file_type)}) is not shown inline: download it instead`, 415, "unsupported");
    const { body } = await sharing.open(id);
    return c.body(body, 200, {
      "Content-Type": baseType(item.file_type),
      "Content-Disposition": disposition("inline", safeFilename(item.filename)),
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "Cache-Control": "no-store",
    });
  });

  // Revoke one of our shares: htmx gets the row back (revoked, or with the error); a plain form
  // post is redirected to the Feed tab.
  app.post("/shares/:id/revoke", async (c) => {
    await requireCsrf(c);
    const sharing = needSharing();
    const id = c.req.param("id");
    const htmx = Boolean(c.req.header("hx-request"));
    try {
      const v = await sharing.revoke(id);
      if (!htmx) return c.redirect("/feed#shared-by-you", 303);
      return c.html(<ShareRow s={v} csrf={c.var.session?.csrf} />);
    } catch (e) {
      const msg = `Could not revoke: ${errorMessage(e)}`;
      if (!htmx) return c.html(<FeedPage {...info(c, "Feed", "feed")} {...feedState(msg)} />, statusOf(e) as 400);
      const cur = sharing.shares().find((s) => s.id === id);
      if (cur) return c.html(<ShareRow s={cur} csrf={c.var.session?.csrf} error={msg} />);
      return c.html(<tr><td colspan={6} class="error" role="alert">{msg}</td></tr>);
    }
  });

  const peerList = () => s.peers.list().map((p) => peerView(s, p));

  app.get("/peers", (c) => c.html(<PeersPage {...info(c, "Peers", "peers")} peers={peerList()} nearby={nearbyCells(s)} mdns={s.nearby !== null} relays={s.relay?.status() ?? []} />));

  app.post("/peers/invite", async (c) => {
    await requireCsrf(c);
    const ttl = Number(await formField(c, "ttl")) || 86400;
    const forName = (await formField(c, "for")).slice(0, 64) || undefined;
    const inv = s.fleet.invite(ttl * 1000);
    return c.html(<InviteBox token={inv.token} expires={inv.expires_at} forName={forName} />);
  });

  app.post("/peers/join", async (c) => {
    await requireCsrf(c);
    try {
      const card = await s.fleet.join(await formField(c, "token"));
      c.header("HX-Trigger", "peers-changed");
      return c.html(<JoinResult ok message={`Paired with ${card.name} (${card.id.slice(0, 8)}).`} />);
    } catch (e) {
      return c.html(<JoinResult ok={false} message={errorMessage(e)} />);
    }
  });

  app.get("/peers/list", (c) => c.html(<PeerList peers={peerList()} />));

  app.post("/peers/:id/:action", async (c) => {
    await requireCsrf(c);
    s.fleet.peerAction(c.req.param("id"), c.req.param("action"));
    return c.html(<PeerList peers={peerList()} />);
  });

  /** The sync Worker's state for the Storage tab; `settled` overrides `running` for a round just awaited. */
  const syncState = (c: Context<WebEnv>, settled = false): SyncState => {
    const r = s.rounds;
    const last = r?.last ?? null;
    return {
      available: r !== null,
      running: !settled && (r?.running ?? false),
      progress: settled ? null : (r?.progress ?? null),
      last,
      summary: last ? summarize({ ...last, errors: [] }) : null,
      lastError: r?.lastError ?? null,
      intervalS: c.var.cell.config.sync_interval_s,
    };
  };
  const storageState = (c: Context<WebEnv>, settled = false, notice?: string) => ({
    report: placementReport(c.var.cell, s.peers),
    sync: syncState(c, settled),
    lostAfterS: c.var.cell.config.peer_lost_after_s,
    notice,
  });

  app.get("/storage", (c) => c.html(<StoragePage {...info(c, "Storage", "storage")} {...storageState(c)} />));

  // The tab's body alone: htmx polls it while a round runs.
  app.get("/storage/body", (c) => c.html(<StorageBody {...storageState(c)} csrf={c.var.session?.csrf} />));

  // "Sync now": run a round and wait for it (up to SYNC_WAIT_MS; a longer one keeps going and the
  // tab polls until it ends). htmx gets the new body; a plain form post is redirected to the tab.
  app.post("/storage/sync", async (c) => {
    await requireCsrf(c);
    let settled = false;
    let notice: string | undefined;
    if (s.rounds) {
      const round = s.rounds.sync().then(
        () => (settled = true),
        () => (settled = true), // the failure is kept in rounds.lastError and shown
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([round, new Promise((r) => (timer = setTimeout(r, SYNC_WAIT_MS)))]);
      clearTimeout(timer);
      if (!settled) notice = "The round is still running; this tab updates when it ends.";
    }
    if (!c.req.header("hx-request")) return c.redirect("/storage", 303);
    return c.html(<StorageBody {...storageState(c, settled, notice)} csrf={c.var.session?.csrf} />);
  });

  app.route("/chat", chatPages(s, { info, requireCsrf }));
  app.route("/assistant", assistantPages(s, { info, requireCsrf }));
  app.route("/bounty", bountyPages(s, { info }));
  app.route("/update", updatePages(s, { requireCsrf }));

  app.get("/settings", (c) => {
    const cell = c.var.cell;
    return c.html(<SettingsPage {...info(c, "Settings", "settings")} facts={cellStatus(s)} config={cell.config} listening={s.listening()} />);
  });

  return app;
}
