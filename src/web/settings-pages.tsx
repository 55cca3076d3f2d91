/** @jsxImportSource hono/jsx */
/**
 * @module web/settings-pages — the Settings tab (mounted at /settings by web/dashboard, behind its
 * login): this cell's facts, the form of the settings a person changes, where it listens, the
 * recovery phrase section (web/recovery-phrase-pages answers it) and updates (web/update-pages).
 *
 * POST /settings (the session's CSRF token) merges the form into config.json as the file is,
 * validates the whole result with the config schema (config/settings-form) and, only when it is
 * valid, writes the file atomically and has the cell read it again at once (the live keys are
 * taken; the others wait for the next start, and the page says which). A refused form is shown
 * again as typed, with one message per field; nothing is written. htmx gets the form back in
 * place; a plain form post is redirected to the tab (a refused one gets the page, 400).
 */
import { Hono, type Context } from "hono";
import { badRequest } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { checkConfig, type Config } from "../config/config.ts";
import { isLiveKey } from "../config/live.ts";
import { readConfigObject, writeConfigObject } from "../config/config-file.ts";
import { phraseWasShown } from "../cell/phrase-shown.ts";
import { cellStatus } from "./api/status.ts";
import { SettingsPage } from "../../views/settings.tsx";
import { SettingsForm, type SaveStatus, type SettingsFormProps } from "../../views/settings-form.tsx";
import { CellName } from "../../views/layout.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import type { PasswordFile } from "./password.ts";
import { info, requireCsrf } from "./page-helpers.tsx";
import { FORM_KEYS, LABELS, applyForm, formValues, readForm, type FormKey } from "../config/settings-form.ts";

type SettingsServices = Pick<WebServices, "cell" | "relay" | "rounds" | "watching" | "listening" | "reloadConfig">;

/** "Name, Relays" */
const labels = (keys: FormKey[]) => keys.map((k) => LABELS[k]).join(", ");

/** What a save did, in a line: taken now, at the next start, or nothing to do. */
function savedText(changed: FormKey[], reloaded: boolean): string {
  if (!changed.length) return "Nothing to save: these are the settings already saved.";
  if (!reloaded) return "Saved. The running cell could not take the file now: the settings apply at its next start.";
  const now = changed.filter((k) => isLiveKey(k));
  const later = changed.filter((k) => !isLiveKey(k));
  return [
    "Saved.",
    now.length ? `In effect now: ${labels(now)}.` : "",
    later.length ? `At the next start of the cell: ${labels(later)}.` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

/** The settings saved in config.json, or null with why when the file cannot be read as settings. */
function savedConfig(path: string): { config: Config; raw: Record<string, unknown> } | { error: string } {
  const file = readConfigObject(path);
  if (!file.ok) return { error: `config.json cannot be read (${file.error})` };
  const checked = checkConfig(file.raw);
  if (!checked.ok) return { error: "config.json holds a value the cell does not accept" };
  return { config: checked.config, raw: file.raw };
}

/** Saved settings the running cell takes only at its next start, and still runs without. */
function pendingKeys(saved: Config, running: Config): FormKey[] {
  return FORM_KEYS.filter((k) => !isLiveKey(k) && JSON.stringify(saved[k]) !== JSON.stringify(running[k]));
}

/** The form as config.json holds it now (the running settings when the file cannot be read). */
function currentForm(c: Context<WebEnv>, status: SaveStatus | null): SettingsFormProps {
  const running = c.var.cell.config;
  const saved = savedConfig(c.var.cell.layout.config);
  if ("error" in saved) {
    return {
      csrf: c.var.session?.csrf,
      values: formValues(running),
      status: status ?? { ok: false, text: `The settings file needs fixing by hand first: ${saved.error}.` },
    };
  }
  return { csrf: c.var.session?.csrf, values: formValues(saved.config), status, pending: pendingKeys(saved.config, running) };
}

/** ?saved=name,relays (a plain form post's redirect) as the line under the form. */
function statusFromQuery(q: string | undefined): SaveStatus | null {
  if (q === undefined) return null;
  const keys = new Set(q.split(","));
  return {
    ok: true,
    text: savedText(
      FORM_KEYS.filter((k) => keys.has(k)),
      true,
    ),
  };
}

export function settingsPages(s: SettingsServices, deps: { password: Pick<PasswordFile, "isSet"> }): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const page = (c: Context<WebEnv>, form: SettingsFormProps) => {
    const layout = c.var.cell.layout;
    return c.render(
      <SettingsPage
        csrf={c.var.session?.csrf}
        facts={cellStatus(s)}
        form={form}
        listening={s.listening()}
        phrase={{ noPassword: !deps.password.isSet(), written: phraseWasShown(layout) }}
      />,
      info(c, "Settings", "settings"),
    );
  };

  app.get("/", (c) => page(c, currentForm(c, statusFromQuery(c.req.query("saved")))));

  app.post("/", async (c) => {
    await requireCsrf(c);
    const htmx = Boolean(c.req.header("hx-request"));
    const body = await c.req.parseBody().catch(() => {
      throw badRequest("malformed form body");
    });
    const form = readForm(body);
    const csrf = c.var.session?.csrf;
    const refused = (props: SettingsFormProps) => {
      if (htmx) return c.html(<SettingsForm {...props} />);
      c.status(400);
      return page(c, props);
    };
    // Read, check and write with no wait in between: two saves cannot interleave.
    const path = c.var.cell.layout.config;
    const file = readConfigObject(path);
    if (!file.ok) {
      return refused({
        csrf,
        values: form,
        status: { ok: false, text: `Not saved: config.json cannot be read (${file.error}). Fix the file by hand first.` },
      });
    }
    const current = checkConfig(file.raw);
    const outcome = applyForm(file.raw, current.ok ? current.config : c.var.cell.config, form);
    if (!outcome.ok) {
      const n = Object.keys(outcome.errors).length;
      const text = n ? `Not saved: ${n === 1 ? "one setting needs" : `${n} settings need`} a change (see below each).` : "Not saved.";
      return refused({ csrf, values: form, errors: outcome.errors, status: { ok: false, text, other: outcome.other } });
    }
    let reloaded = true;
    if (outcome.changed.length) {
      writeConfigObject(path, outcome.next);
      log("info", "settings changed on the dashboard", { keys: outcome.changed.join(",") });
      reloaded = s.reloadConfig().ok;
    }
    if (!htmx) return c.redirect(`/settings?saved=${outcome.changed.join(",")}`, 303);
    const running = c.var.cell.config;
    return c.html(
      <>
        <SettingsForm
          csrf={csrf}
          values={formValues(outcome.config)}
          status={{ ok: true, text: savedText(outcome.changed, reloaded) }}
          pending={pendingKeys(outcome.config, running)}
        />
        {outcome.changed.includes("name") ? <CellName name={running.name} id={c.var.cell.keys.id} oob /> : null}
      </>,
    );
  });

  return app;
}
