/** @jsxImportSource hono/jsx */
/**
 * @module web/share-pages — the Share dialog (mounted at /share by web/dashboard, behind its
 * login): GET /share with the files ticked in the Files list (`path`, repeated) shows them with
 * the friends to share with and an expiry; POST /share (the session's CSRF token) shares every
 * chosen file with every chosen friend, one after the other: htmx gets the result lines, a plain
 * form post the dialog page with them. Nothing is shared when the choice is not valid.
 */
import { Hono, type Context } from "hono";
import { badRequest, errorMessage } from "../core/errors.ts";
import { safeDir, safePath } from "../ingest/home-path.ts";
import type { SharingService } from "../share/types.ts";
import {
  MAX_SHARE_FILES,
  MAX_SHARE_FRIENDS,
  SharePage,
  ShareResult,
  type SharePairResult,
  type ShareResults,
} from "../../views/share-dialog.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { info, requireCsrf } from "./page-helpers.tsx";
import { pageError } from "./page-error.ts";
import { toast } from "./toast.ts";
import { count } from "../core/format.ts";

/** Peers marked as friends: whom the Share box (a file's page) and the dialog offer. */
export function friendOptions(peers: WebServices["peers"]): { id: string; name: string }[] {
  return peers
    .list()
    .filter((p) => p.friend)
    .map((p) => ({ id: p.id, name: p.name }));
}

/**
 * Why a known peer that is not a friend cannot be shared with, in the dashboard's words (the
 * sharing service's refusal names the CLI's `grove peers …`); null for a friend or an unknown id.
 */
export function notFriendWords(peers: WebServices["peers"], id: string): string | null {
  const p = peers.list().find((row) => row.id === id);
  if (!p) return null;
  switch (p.friendship) {
    case "friends":
      return null;
    case "requested":
      return `${p.name} has not accepted your friend request yet (it accepts in its Peers tab). Share again once it has. Nothing was shared.`;
    case "asked":
      return `${p.name} asked to be friends: accept with “Accept friend” in the Peers tab, then share again. Nothing was shared.`;
    default:
      return `${p.name} is not a friend: use “Ask to be friends” in the Peers tab; you can share once it accepts. Nothing was shared.`;
  }
}

/**
 * The files chosen for the Share dialog: distinct, each through safePath, at most
 * MAX_SHARE_FILES. On a problem, no paths and a message saying what to do.
 */
function chosenPaths(raw: string[]): { paths: string[]; error?: string } {
  const distinct = [...new Set(raw.filter((p) => p !== ""))];
  if (!distinct.length) return { paths: [], error: "Choose at least one file to share: tick it in the Files list." };
  if (distinct.length > MAX_SHARE_FILES) {
    return {
      paths: [],
      error: `Too many files: at most ${MAX_SHARE_FILES} can be shared at once (${distinct.length} were chosen). Share them in smaller batches.`,
    };
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
}

/** The Files folder the dialog came from ("" when absent or not a valid folder). */
function backDir(raw: string | undefined): string {
  try {
    return safeDir(raw);
  } catch {
    return "";
  }
}

/** The toast of a Share: what was shared with whom, or that something was not (the lines below say what). */
function shareToast(r: ShareResults, files: number): [string, "ok" | "error"] {
  if (r.error) return [`Nothing shared: ${r.error}`, "error"];
  const ok = r.lines.filter((l) => l.ok);
  if (ok.length < r.lines.length) return [`${ok.length} of ${r.lines.length} shared: the lines below say what failed.`, "error"];
  if (ok.length === 1) return [ok[0]!.message, "ok"];
  const names = [...new Set(ok.map((l) => l.peerName))];
  return [`Shared ${count(files, "file")} with ${names.join(", ")}.`, "ok"];
}

export function sharePages(s: Pick<WebServices, "sharing" | "peers">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  /** Sharing (every running cell has it; the views still say when one does not). */
  const sharingOf = (): SharingService | null => s.sharing;

  const page = (
    c: Context<WebEnv>,
    paths: string[],
    opts: { dir: string; error?: string; chosen?: string[]; expires?: string; results?: ShareResults },
    status: 200 | 400 = 200,
  ) => {
    const cell = c.var.cell;
    const files = paths.map((path) => ({ path, size: cell.db.current(path)?.size ?? null }));
    c.status(status);
    return c.render(
      <SharePage csrf={c.var.session?.csrf} available={sharingOf() !== null} files={files} friends={friendOptions(s.peers)} {...opts} />,
      info(c, "Share", "files"),
    );
  };

  // The dialog for the files checked in the Files list ("Share selected…", a GET form).
  app.get("/", (c) => {
    const { paths, error } = chosenPaths(c.req.queries("path") ?? []);
    return page(c, paths, { dir: backDir(c.req.query("dir")), error }, error ? 400 : 200);
  });

  // Share every chosen file with every chosen friend, one after the other: htmx gets the result
  // lines (one per file and friend); a plain form post the dialog page with them. Nothing is
  // shared when the choice is not valid (no file or friend, too many, a bad path or expiry).
  app.post("/", async (c) => {
    await requireCsrf(c);
    const body = await c.req.parseBody({ all: true }).catch(() => {
      throw badRequest("malformed form body");
    });
    const values = (name: string): string[] => {
      const v = body[name];
      return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string");
    };
    const { paths, error: pathError } = chosenPaths(values("path"));
    const peers = [
      ...new Set(
        values("peer")
          .map((p) => p.trim())
          .filter((p) => p !== ""),
      ),
    ];
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
            lines.push({
              path,
              peer: v.to,
              peerName: v.to_name,
              ok: true,
              message: `Shared ${v.filename} with ${v.to_name}.`,
              pending: !v.delivered,
              pendingWhy: v.delivery_error,
            });
          } catch (e) {
            lines.push({
              path,
              peer,
              peerName,
              ok: false,
              message: `Could not share ${path} with ${peerName}: ${notFriendWords(s.peers, peer) ?? pageError("share failed", e, peerName)}`,
            });
          }
        }
      }
    }
    const results: ShareResults = { error, lines };
    if (c.req.header("hx-request")) {
      const [said, kind] = shareToast(results, paths.length);
      toast(c, said, kind);
      return c.html(<ShareResult r={results} />);
    }
    const dir = backDir(values("dir")[0]);
    return page(c, paths, { dir, error: pathError, chosen: peers, expires, results }, error ? 400 : 200);
  });

  return app;
}
