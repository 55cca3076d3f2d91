/** @jsxImportSource hono/jsx */
/**
 * @module web/recovery-phrase-pages — the 24 words on the dashboard (mounted at
 * /settings/recovery-phrase by web/dashboard, behind its login; both posts need the session's
 * CSRF token).
 *
 * POST / shows the words for the dashboard password, checked as login checks it (web/password)
 * and throttled with login's throttle (web/login-throttle: the same address pays for wrong tries
 * at either door); the answer is never cached. A session alone is not enough: it may be a browser
 * left open. A cell with no password (possible only if dashboard_auth was removed while a
 * session lived) shows no words: its owner runs `grove recovery-phrase` in a terminal. The local
 * API has no way to the words at all (a bearer token gets no dashboard page).
 *
 * POST /written is "I wrote it down": it writes GROVE_DIR/.phrase_shown (cell/phrase-shown), so
 * the first-run offer (web/phrase-offer) is not shown again.
 */
import { Hono, type Context } from "hono";
import { log } from "../core/log.ts";
import { markPhraseShown, phraseWasShown } from "../cell/phrase-shown.ts";
import { recoveryPhrase } from "../cell/state-dir.ts";
import { PhrasePage, PhraseWords, RevealForm, WrittenNote } from "../../views/recovery-phrase.tsx";
import type { WebEnv } from "./context.ts";
import type { AuthDeps } from "./auth-pages.tsx";
import { refusedTry } from "./auth-pages.tsx";
import { remoteAddress } from "./remote.ts";
import { formField, info, requireCsrf } from "./page-helpers.tsx";

/** Where a plain form post of "I wrote it down" goes back to: a dashboard path, else Files. */
function safeBack(back: string): string {
  return /^\/[A-Za-z0-9/_-]{0,200}$/.test(back) && !back.startsWith("//") ? back : "/files";
}

/** The words, or the prompt with what was wrong: in place for htmx, else as a page with `status`. */
function answer(
  c: Context<WebEnv>,
  status: 200 | 401 | 409 | 429 | 503,
  p: { words?: string[]; error?: string; waitS?: number; noPassword?: boolean },
) {
  const csrf = c.var.session?.csrf;
  const written = phraseWasShown(c.var.cell.layout);
  if (p.words) c.header("Cache-Control", "no-store");
  if (c.req.header("hx-request")) {
    return c.html(
      p.words ? (
        <PhraseWords words={p.words} written={written} csrf={csrf} back="/settings" />
      ) : (
        <RevealForm csrf={csrf} error={p.error} waitS={p.waitS} noPassword={p.noPassword} />
      ),
    );
  }
  c.status(status);
  return c.render(
    <PhrasePage words={p.words ?? null} written={written} csrf={csrf} error={p.error} waitS={p.waitS} noPassword={p.noPassword} />,
    info(c, "Recovery phrase", "settings"),
  );
}

export function recoveryPhrasePages({ password, throttle }: Pick<AuthDeps, "password" | "throttle">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.post("/", async (c) => {
    await requireCsrf(c);
    if (!password.isSet()) return answer(c, 409, { noPassword: true });
    const from = remoteAddress(c);
    const pw = await formField(c, "password");
    const gate = await throttle.enter(from);
    if (!gate.ok) {
      const r = refusedTry(gate);
      log("warn", `recovery phrase not shown: password not tried (${gate.reason})`, { from, wait_s: r.waitS });
      c.header("Retry-After", String(r.waitS));
      return answer(c, r.status, { error: r.error, waitS: r.waitS });
    }
    let ok: boolean;
    try {
      ok = pw.length > 0 && pw.length <= 1024 && (await password.check(pw));
    } finally {
      gate.release();
    }
    if (!ok) {
      throttle.failed(from);
      const waitS = throttle.waitFor(from);
      log("warn", "recovery phrase not shown: wrong dashboard password", { from });
      const error = waitS > 0 ? `Wrong password. Wait ${waitS} s before the next try.` : "Wrong password.";
      return answer(c, 401, { error, waitS: waitS || undefined });
    }
    throttle.succeeded(from);
    log("info", "recovery phrase shown on the dashboard", { from });
    return answer(c, 200, { words: recoveryPhrase(c.var.cell.layout).split(" ") });
  });

  app.post("/written", async (c) => {
    await requireCsrf(c);
    const layout = c.var.cell.layout;
    if (!phraseWasShown(layout)) {
      markPhraseShown(layout);
      log("info", "recovery phrase written down (the dashboard stops offering it)");
    }
    if (c.req.header("hx-request")) return c.html(<WrittenNote />);
    return c.redirect(safeBack(await formField(c, "back")), 303);
  });

  return app;
}
