/** @jsxImportSource hono/jsx */
/**
 * @module web/storage-pages — the Storage tab (mounted at /storage by web/dashboard, behind its
 * login): GET /storage (where every chunk is, what is at risk, the sync Worker's state), GET
 * /storage/body (the tab's body alone: htmx polls it while a round runs) and POST /storage/sync
 * ("Sync now", with the session's CSRF token).
 */
import { Hono, type Context } from "hono";
import { placementReport } from "../sync/placement-report.ts";
import { StoragePage, StorageBody, type SyncState } from "../../views/storage.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { info, requireCsrf } from "./page-helpers.tsx";

/** How long "Sync now" waits for its round before answering "still running" (the tab then polls). */
const SYNC_WAIT_MS = 20_000;

export function storagePages(s: Pick<WebServices, "rounds" | "syncHistory" | "peers">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  /** The sync Worker's state for the Storage tab; `settled` overrides `running` for a round just awaited. */
  const syncState = (c: Context<WebEnv>, settled = false): SyncState => {
    const r = s.rounds;
    const last = r?.last ?? null;
    return {
      available: r !== null,
      running: !settled && (r?.running ?? false),
      progress: settled ? null : (r?.progress ?? null),
      last,
      lastError: r?.lastError ?? null,
      intervalS: c.var.cell.config.sync_interval_s,
      history: s.syncHistory?.list() ?? r?.history?.() ?? [],
    };
  };
  const storageState = (c: Context<WebEnv>, settled = false, notice?: string) => ({
    report: placementReport(c.var.cell, s.peers),
    sync: syncState(c, settled),
    lostAfterS: c.var.cell.config.peer_lost_after_s,
    notice,
    csrf: c.var.session?.csrf,
  });

  app.get("/", (c) => c.render(<StoragePage {...storageState(c)} />, info(c, "Storage", "storage")));

  // The tab's body alone: htmx polls it while a round runs.
  app.get("/body", (c) => c.html(<StorageBody {...storageState(c)} />));

  // "Sync now": run a round and wait for it (up to SYNC_WAIT_MS; a longer one keeps going and the
  // tab polls until it ends). htmx gets the new body; a plain form post is redirected to the tab.
  app.post("/sync", async (c) => {
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
    return c.html(<StorageBody {...storageState(c, settled, notice)} />);
  });

  return app;
}
