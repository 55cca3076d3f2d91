/** @jsxImportSource hono/jsx */
/**
 * @module web/auth-pages — the dashboard's door (mounted at / by web/dashboard): first-run setup
 * (GET and POST /setup: localhost only, with the setup code `grove start` printed), login (GET and
 * POST /login: throttled per address, web/login-throttle) and POST /logout. Setup and login are
 * open; their forms carry a double-submit CSRF cookie (web/page-helpers), logout the session's token.
 */
import { Hono } from "hono";
import { deleteCookie } from "hono/cookie";
import { forbidden } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { SetupPage, LoginPage } from "../../views/auth-pages.tsx";
import type { WebEnv } from "./context.ts";
import { fromLoopback, remoteAddress } from "./remote.ts";
import { SESSION_COOKIE, type SessionStore } from "./sessions.ts";
import { MIN_PASSWORD_LENGTH, type PasswordFile } from "./password.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import type { SetupCode } from "./setup-code.ts";
import { checkFormToken, formField, formToken, openInfo, requireCsrf, startSession } from "./page-helpers.tsx";

/** The door's own state: sessions, the password, the throttle and the first-run code. */
export interface AuthDeps {
  sessions: SessionStore;
  password: PasswordFile;
  /** Wrong passwords and setup codes, per source address (web/login-throttle). */
  throttle: LoginThrottle;
  setupCode: SetupCode;
}

/** The answer to a try the throttle refused: at once, saying why and for how long (login; the recovery phrase). */
export function refusedTry(gate: { reason: "throttled" | "busy"; waitS: number }): { status: 429 | 503; error: string; waitS: number } {
  if (gate.reason === "throttled") {
    return { status: 429, waitS: gate.waitS, error: `Too many wrong tries from your address. Wait ${gate.waitS} s, then try again.` };
  }
  return { status: 503, waitS: gate.waitS, error: "The cell is checking other login attempts right now. Try again in a moment." };
}

export function authPages({ sessions, password, throttle, setupCode }: AuthDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.get("/setup", (c) => {
    if (password.isSet()) return c.redirect("/login");
    return c.render(
      <SetupPage allowed={fromLoopback(c)} codeFile={c.var.cell.layout.setupCode} formCsrf={formToken(c)} />,
      openInfo(c, "Set a password"),
    );
  });

  // First run: the password, from this machine, with the one-time code `grove start` printed.
  app.post("/setup", async (c) => {
    if (password.isSet()) return c.redirect("/login");
    if (!fromLoopback(c)) throw forbidden("the first password can only be set from this machine (localhost)");
    await checkFormToken(c);
    const from = remoteAddress(c);
    const page = (status: 400 | 403 | 429, error: string) => {
      c.status(status);
      return c.render(
        <SetupPage allowed codeFile={c.var.cell.layout.setupCode} formCsrf={formToken(c)} error={error} />,
        openInfo(c, "Set a password"),
      );
    };
    const waitS = throttle.waitFor(from);
    if (waitS > 0) return (c.header("Retry-After", String(waitS)), page(429, refusedTry({ reason: "throttled", waitS }).error));
    if (!setupCode.matches(await formField(c, "code"))) {
      throttle.failed(from);
      log("warn", "first-run setup refused: wrong setup code", { from });
      return page(
        403,
        "That is not this cell's setup code. It was printed when the cell started, and is in the setup_code file of its folder.",
      );
    }
    const pw = await formField(c, "password");
    const confirm = await formField(c, "confirm");
    const error =
      pw.length < MIN_PASSWORD_LENGTH
        ? `Use at least ${MIN_PASSWORD_LENGTH} characters.`
        : pw.length > 1024
          ? "That password is too long."
          : pw !== confirm
            ? "The two passwords differ."
            : null;
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
    return c.render(<LoginPage formCsrf={formToken(c)} />, openInfo(c, "Log in"));
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
      c.status(r.status);
      return c.render(<LoginPage formCsrf={formToken(c)} error={r.error} waitS={r.waitS} />, openInfo(c, "Log in"));
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
      c.status(401);
      return c.render(<LoginPage formCsrf={formToken(c)} error={error} waitS={waitS || undefined} />, openInfo(c, "Log in"));
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

  return app;
}
