/**
 * The Settings tab in process (test/helpers/app): the form saves into config.json only what the
 * config schema accepts as a whole, the running cell takes them at once (relays and local discovery
 * too) and the page says so; a refused form names each field's problem in plain words and
 * leaves the file as it was; every change needs the session's CSRF token. The recovery phrase is
 * shown for the dashboard password only (throttled like login), and the first-run offer shows the
 * words to a session that just proved the password, until "I wrote it down".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app.ts";
import { PasswordFile } from "../../src/web/password.ts";
import { SessionStore } from "../../src/web/sessions.ts";
import { recoveryPhrase } from "../../src/cell/state-dir.ts";
import { FREE_FAILURES } from "../../src/web/login-throttle.ts";
import { applyForm, durationParts, formValues, sizeParts } from "../../src/config/settings-form.ts";
import { defaultConfig, loadConfig } from "../../src/config/config.ts";
import { writeTinyModel } from "../fixtures/tiny-gguf.ts";

const PASSWORD = "a long enough password";
const GiB = 1024 ** 3;

/** The form as the page fills it for the test cell's config. */
const BASE = {
  name: "cell-a",
  replication_factor: "2",
  sync_interval: "5",
  sync_interval_unit: "min",
  home_mode: "mirror",
  storage_allowance: "50",
  storage_allowance_unit: "GiB",
  llm_share: "friends",
  watch_dirs: "",
  relays: "",
  peer_lost: "1",
  peer_lost_unit: "d",
  mdns: "off",
  ollama_mode: "auto",
  ollama_address: "",
  bounty_allowance: "50",
  bounty_allowance_unit: "GiB",
  bounty_exempt_favorites: "yes",
  bounty_exempt_friends: "yes",
};

let app: TestApp;
let session: { token: string; csrf: string };
let configPath: string;

beforeAll(async () => {
  app = openApp({ name: "cell-a", note_for_me: "kept as it is" });
  configPath = join(app.dir, "config.json");
  await new PasswordFile(join(app.dir, "dashboard_auth")).set(PASSWORD);
  session = new SessionStore(app.rt.cell.db.db).create();
});
afterAll(() => app.close());

const cookie = () => `grove_session=${session.token}`;

/** POST a urlencoded form as the dashboard does (htmx: with its header; csrf null: without the token). */
function post(
  path: string,
  fields: Record<string, string>,
  opts: { htmx?: boolean; csrf?: string | null; from?: string; cookie?: string } = {},
): Promise<Response> {
  const csrf = opts.csrf === undefined ? session.csrf : opts.csrf;
  const body = new URLSearchParams({ ...fields, ...(csrf !== null ? { _csrf: csrf } : {}) }).toString();
  const headers: Record<string, string> = { cookie: opts.cookie ?? cookie(), "content-type": "application/x-www-form-urlencoded" };
  if (opts.htmx) headers["hx-request"] = "true";
  return app.request(path, { method: "POST", headers, body, redirect: "manual" }, opts.from);
}

const page = async (path: string) => (await app.request(path, { headers: { cookie: cookie() } })).text();
/** The form as the page fills it from config.json now. */
const savedForm = () => formValues(loadConfig(configPath).config);
const fileJson = () => JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
/** The text of the element with this id (tags stripped), or null. */
function textOf(html: string, id: string): string | null {
  const m = new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return m
    ? m[2]!
        .replace(/<[^>]+>/g, "")
        .replace(/\s+/g, " ")
        .trim()
    : null;
}

describe("the form's values", () => {
  test("a duration in its largest whole unit, a size in the largest unit that stays exact", () => {
    expect(durationParts(300)).toEqual({ value: "5", unit: "min" });
    expect(durationParts(7200)).toEqual({ value: "2", unit: "h" });
    expect(durationParts(90)).toEqual({ value: "90", unit: "s" });
    expect(sizeParts(50 * GiB)).toEqual({ value: "50", unit: "GiB" });
    expect(sizeParts(1.5 * GiB)).toEqual({ value: "1.5", unit: "GiB" });
    expect(sizeParts(123_456_789)).toEqual({ value: "123456789", unit: "B" });
    expect(sizeParts(0)).toEqual({ value: "0", unit: "B" });
  });

  test("the form of a config, posted back unchanged, changes nothing", () => {
    const config = { ...defaultConfig(), sync_interval_s: 123, max_peer_storage_bytes: 123_456_789, relays: ["wss://r.example:443"] };
    const r = applyForm({ ...config }, config, formValues(config));
    expect(r.ok && r.changed).toEqual([]);
  });
});

describe("Settings form", () => {
  test("the page is a form filled from config.json; the raw JSON dump is gone", async () => {
    const html = await page("/settings");
    expect(html).toContain('id="settings-form"');
    expect(html).toContain('name="name" value="cell-a"');
    expect(html).toMatch(/name="replication_factor" value="2"[^>]*min="1"[^>]*max="16"/);
    expect(html).toMatch(/<option value="min" selected="">minutes<\/option>/);
    expect(html).toMatch(/<option value="GiB" selected="">GiB<\/option>/);
    expect(html).not.toContain('class="config"');
    expect(html).not.toContain('"peer_port"');
    // Help says when a change is taken: every setting of the form at once, relays and local discovery too.
    for (const id of ["set-name-help", "set-relays-help", "set-mdns-help"])
      expect(textOf(html, id)).toContain("A change is taken at once.");
    expect(html).not.toContain("next start");
  });

  test("a valid save writes config.json (other keys kept), the cell takes the settings at once (relays too) and says so", async () => {
    const r = await post(
      "/settings",
      {
        ...BASE,
        name: "renamed-cell",
        replication_factor: "3",
        sync_interval: "10",
        home_mode: "on-demand",
        storage_allowance: "2",
        llm_share: "none",
        watch_dirs: "/srv/photos\n\n  /srv/music  \n",
        relays: "wss://relay.example.org:443",
      },
      { htmx: true },
    );
    expect(r.status).toBe(200);
    const html = await r.text();
    const status = textOf(html, "settings-status")!;
    expect(status).toContain("Saved.");
    expect(status).toContain(
      "In effect now: Name, Copies of each file, Sync every, Files of my other cells, Room for other cells, Watched folders, Relays, Share my models.",
    );
    expect(status).not.toContain("next start");
    // The header's name is swapped in place.
    expect(html).toMatch(/<span class="cell" id="cell-name"[^>]*hx-swap-oob="true"[^>]*>renamed-cell/);

    const saved = fileJson();
    expect(saved).toMatchObject({
      name: "renamed-cell",
      replication_factor: 3,
      sync_interval_s: 600,
      home_mode: "on-demand",
      max_peer_storage_bytes: 2 * GiB,
      llm_share: "none",
      watch_dirs: ["/srv/photos", "/srv/music"],
      relays: ["wss://relay.example.org:443"],
      note_for_me: "kept as it is",
      mdns: false,
      config_version: 2,
    });
    expect(statSync(configPath).mode & 0o777).toBe(0o644);
    // All running now (the relays held are test/relay/live-relays's: this app runs no relay client).
    const running = app.rt.cell.config;
    expect(running.name).toBe("renamed-cell");
    expect(running.replication_factor).toBe(3);
    expect(running.sync_interval_s).toBe(600);
    expect(running.home_mode).toBe("on-demand");
    expect(running.llm_share).toBe("none");
    expect(running.max_peer_storage_bytes).toBe(2 * GiB); // the room for other cells, checked at each chunk kept (store/held-store)
    expect(running.relays).toEqual(["wss://relay.example.org:443"]);
    const st = (await (await app.api("/api/status")).json()) as { name: string; replication_factor: number };
    expect(st).toMatchObject({ name: "renamed-cell", replication_factor: 3 });
    expect(app.logs()).toContain(
      "settings changed on the dashboard keys=name,replication_factor,sync_interval_s,home_mode,max_peer_storage_bytes,watch_dirs,relays,llm_share",
    );
    // The file watcher reloads the file the save wrote: nothing new, nothing waits for a restart.
    expect(app.rt.services.reloadConfig()).toMatchObject({ ok: true, applied: [], restart: [] });
    expect(app.logs()).not.toContain("take effect at the next start");

    // The page shows what was saved, and marks nothing as waiting for the next start.
    const again = await page("/settings");
    expect(again).toContain('name="name" value="renamed-cell"');
    expect(again).toContain('<span class="cell" id="cell-name" title=');
    expect(again).toMatch(/<textarea name="relays"[^>]*>wss:\/\/relay.example.org:443<\/textarea>/);
    const pending = [...again.matchAll(/data-pending="([a-z_]+)"/g)].map((m) => m[1]);
    expect(pending).toEqual([]);
  });

  test("invalid values: one plain message per field, nothing written, nothing changed in the running cell", async () => {
    const before = readFileSync(configPath, "utf8");
    const mtime = statSync(configPath).mtimeMs;
    const r = await post(
      "/settings",
      {
        ...BASE,
        name: "should-not-stick",
        replication_factor: "0",
        storage_allowance: "-1",
        relays: "wss://ok.example:443\nnot a url",
        watch_dirs: "relative/folder",
      },
      { htmx: true },
    );
    expect(r.status).toBe(200); // htmx swaps the form with its messages in place
    const html = await r.text();
    expect(textOf(html, "set-copies-error")).toBe("Must be 1 or more.");
    expect(textOf(html, "set-storage-error")).toBe("Must be 0 or more.");
    expect(textOf(html, "set-relays-error")).toBe("Line 2 is not a relay address: write it as ws://HOST:PORT or wss://HOST:PORT.");
    expect(textOf(html, "set-watch-dirs-error")).toBe("Line 1 must be a whole path from the root, like /home/me/Photos.");
    expect(textOf(html, "set-name-error")).toBeNull();
    expect(textOf(html, "settings-status")).toBe("Not saved: 4 settings need a change (see below each).");
    // What was typed stays in the form; the fields say they are invalid.
    expect(html).toMatch(/name="replication_factor" value="0"[^>]*aria-invalid="true"/);
    expect(html).toContain('name="name" value="should-not-stick"');
    // No config key and no library wording in what the person reads.
    const prose = [...html.matchAll(/class="(?:field-error|help)"[^>]*>([^<]*)</g)].map((m) => m[1]).join(" ");
    for (const word of ["replication_factor", "max_peer_storage_bytes", "watch_dirs", "relays", "Invalid", "expected"])
      expect(prose).not.toContain(word);
    expect(readFileSync(configPath, "utf8")).toBe(before);
    expect(statSync(configPath).mtimeMs).toBe(mtime);
    expect(app.rt.cell.config.name).toBe("renamed-cell");
    expect(app.rt.cell.config.replication_factor).toBe(3);
  });

  test("a value that is not a number, a name with a control character, too many copies", async () => {
    const before = readFileSync(configPath, "utf8");
    const r = await post(
      "/settings",
      { ...BASE, name: "bad\u0007name", replication_factor: "17", sync_interval: "soon", storage_allowance: "lots" },
      { htmx: true },
    );
    const html = await r.text();
    expect(textOf(html, "set-copies-error")).toBe("Must be 16 or less.");
    expect(textOf(html, "set-sync-interval-error")).toBe("Enter how often to sync, like 5 (minutes).");
    expect(textOf(html, "set-storage-error")).toBe("Enter a size, like 50 (GiB), or 0 to keep nothing for others.");
    expect(textOf(html, "set-name-error")).toMatch(/^Contains a control character \(U\+0007\)/);
    expect(readFileSync(configPath, "utf8")).toBe(before);
  });

  test("without JavaScript: a valid save redirects to the tab, which says what it did; a refused one is the page, 400", async () => {
    const ok = await post("/settings", { ...savedForm(), replication_factor: "4" }, {});
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/settings?saved=replication_factor");
    const shown = await page(ok.headers.get("location")!);
    expect(textOf(shown, "settings-status")).toBe("Saved. In effect now: Copies of each file.");
    expect(fileJson().replication_factor).toBe(4);

    const bad = await post("/settings", { ...BASE, replication_factor: "0" });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain('<nav class="tabs"');
    expect(textOf(html, "set-copies-error")).toBe("Must be 1 or more.");
    expect(fileJson().replication_factor).toBe(4);
  });

  test("saving what is already saved writes nothing", async () => {
    const mtime = statSync(configPath).mtimeMs;
    const r = await post("/settings", savedForm(), { htmx: true });
    expect(textOf(await r.text(), "settings-status")).toBe("Nothing to save: these are the settings already saved.");
    expect(statSync(configPath).mtimeMs).toBe(mtime);
  });

  test("a save without the session's CSRF token, with a wrong one, or without a session is refused and writes nothing", async () => {
    const before = readFileSync(configPath, "utf8");
    const fields = { ...BASE, name: "forged" };
    expect((await post("/settings", fields, { csrf: null })).status).toBe(403);
    expect((await post("/settings", fields, { csrf: "x".repeat(32), htmx: true })).status).toBe(403);
    expect((await post("/settings", fields, { cookie: "grove_session=nobody" })).status).toBe(401);
    const htmx = await post("/settings", fields, { cookie: "", htmx: true });
    expect(htmx.status).toBe(401);
    expect(htmx.headers.get("hx-redirect")).toBe("/login");
    expect(readFileSync(configPath, "utf8")).toBe(before);
    expect(app.rt.cell.config.name).not.toBe("forged");
  });

  test("a config.json that is not valid JSON is not overwritten by the form", async () => {
    const good = readFileSync(configPath, "utf8");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(configPath, "{ this is not json");
    try {
      const r = await post("/settings", { ...BASE, name: "over-it" }, { htmx: true });
      expect(textOf(await r.text(), "settings-status")).toBe(
        "Not saved: config.json cannot be read (it is not valid JSON). Fix the file by hand first.",
      );
      expect(readFileSync(configPath, "utf8")).toBe("{ this is not json");
    } finally {
      writeFileSync(configPath, good);
    }
  });
});

describe("recovery phrase", () => {
  const words = () => recoveryPhrase(app.rt.cell.layout).split(" ");
  const hasWords = (html: string) => words().filter((w) => html.includes(`<span class="w">${w}</span>`)).length;

  test("Settings asks for the password; the words are not in the page", async () => {
    const html = await page("/settings");
    expect(html).toContain('id="phrase-reveal"');
    expect(html).toContain('type="password" name="password" id="phrase-password"');
    expect(hasWords(html)).toBe(0);
  });

  test("the right password shows the 24 words, numbered, never cached; no CSRF token or a wrong password shows none", async () => {
    const noCsrf = await post("/settings/recovery-phrase", { password: PASSWORD }, { csrf: null, from: "10.0.0.1" });
    expect(noCsrf.status).toBe(403);
    expect(hasWords(await noCsrf.text())).toBe(0);

    const wrong = await post("/settings/recovery-phrase", { password: "not it" }, { from: "10.0.0.1" });
    expect(wrong.status).toBe(401);
    const wrongHtml = await wrong.text();
    expect(textOf(wrongHtml, "phrase-error")).toBe("Wrong password.");
    expect(hasWords(wrongHtml)).toBe(0);
    const empty = await post("/settings/recovery-phrase", { password: "" }, { htmx: true, from: "10.0.0.1" });
    expect(hasWords(await empty.text())).toBe(0);

    const right = await post("/settings/recovery-phrase", { password: PASSWORD }, { htmx: true, from: "10.0.0.1" });
    expect(right.status).toBe(200);
    expect(right.headers.get("cache-control")).toBe("no-store");
    const html = await right.text();
    expect(hasWords(html)).toBe(24);
    expect(html).toContain('<span class="n">24.</span>');
    expect(html).toContain("Anyone who has these words can become this cell");
    expect(app.logs()).toContain("recovery phrase shown on the dashboard");
    expect(app.logs()).toContain("recovery phrase not shown: wrong dashboard password");
  });

  test("wrong passwords are throttled like login: after the free tries, the next is refused at once with a wait", async () => {
    const from = "10.0.0.2";
    for (let i = 0; i < FREE_FAILURES; i++)
      expect((await post("/settings/recovery-phrase", { password: `nope ${i}` }, { from })).status).toBe(401);
    const held = await post("/settings/recovery-phrase", { password: PASSWORD }, { from });
    expect(held.status).toBe(429);
    expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(0);
    const html = await held.text();
    expect(textOf(html, "phrase-error")).toMatch(/^Too many wrong tries from your address\. Wait \d+ s/);
    expect(hasWords(html)).toBe(0);
    // The same address is held at the login door too (one throttle), even with the right password.
    const form = await app.request("/login", {}, from);
    const formCookie = form.headers.get("set-cookie")!.split(";")[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const login = await app.request(
      "/login",
      {
        method: "POST",
        headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: token, password: PASSWORD }).toString(),
        redirect: "manual",
      },
      from,
    );
    expect(login.status).toBe(429);
  });

  test("with no dashboard password the words are never shown (the terminal is the way)", async () => {
    const auth = join(app.dir, "dashboard_auth");
    const kept = readFileSync(auth);
    rmSync(auth);
    try {
      const r = await post("/settings/recovery-phrase", { password: "" }, { from: "10.0.0.3" });
      expect(r.status).toBe(409);
      const html = await r.text();
      expect(hasWords(html)).toBe(0);
      expect(html).toContain("grove recovery-phrase");
      expect(await page("/settings")).toContain("This dashboard has no password");
    } finally {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(auth, kept, { mode: 0o600 });
    }
  });
});

describe("first-run offer", () => {
  const marker = () => join(app.dir, ".phrase_shown");
  const words = () => recoveryPhrase(app.rt.cell.layout).split(" ");

  test("a session that just proved the password sees the words above the Files list (only), until 'I wrote it down'", async () => {
    expect(existsSync(marker())).toBe(false);
    const files = await app.request("/files", { headers: { cookie: cookie() } });
    expect(files.headers.get("cache-control")).toBe("no-store");
    const html = await files.text();
    expect(html).toContain('id="phrase-offer"');
    for (const w of words()) expect(html).toContain(`<span class="w">${w}</span>`);
    expect(html).toContain('id="phrase-written"');
    expect(await page("/files?dir=photos")).toContain('id="phrase-offer"');
    for (const other of ["/peers", "/feed", "/storage", "/settings"]) expect(await page(other)).not.toContain('id="phrase-offer"');

    const noCsrf = await post("/settings/recovery-phrase/written", { back: "/files" }, { csrf: null });
    expect(noCsrf.status).toBe(403);
    expect(existsSync(marker())).toBe(false);

    const done = await post("/settings/recovery-phrase/written", { back: "/files" }, { htmx: true });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('id="phrase-noted"');
    expect(existsSync(marker())).toBe(true);
    expect(statSync(marker()).mode & 0o777).toBe(0o600);
    const after = await page("/files");
    expect(after).not.toContain('id="phrase-offer"');
    expect(after).not.toContain(`<span class="w">${words()[0]}</span>`);
  });

  test("an older session gets a link to Settings, not the words; a plain post goes back to a dashboard path only", async () => {
    rmSync(marker());
    const old = new SessionStore(app.rt.cell.db.db).create();
    app.rt.cell.db.db.query("UPDATE sessions SET created_at = ? WHERE csrf = ?").run(Date.now() - 60 * 60_000, old.csrf);
    const html = await (await app.request("/files", { headers: { cookie: `grove_session=${old.token}` } })).text();
    expect(html).toContain('id="phrase-offer"');
    expect(html).toContain('href="/settings#recovery-phrase"');
    expect(words().filter((w) => html.includes(`<span class="w">${w}</span>`))).toEqual([]);

    const r = await post(
      "/settings/recovery-phrase/written",
      { back: "//evil.example/x" },
      { cookie: `grove_session=${old.token}`, csrf: old.csrf },
    );
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/files");
    expect(existsSync(marker())).toBe(true);
    const back = await post("/settings/recovery-phrase/written", { back: "/peers" }, {});
    expect(back.headers.get("location")).toBe("/peers");
  });
});

describe("the settings other tabs point to", () => {
  test("each tab's pointer to Settings lands on a field of the form", async () => {
    const html = await page("/settings");
    // What the tabs link to in Settings (with local discovery off, no Ollama, no relay here).
    const linked = new Set<string>();
    for (const tab of ["/peers", "/assistant", "/bounty", "/storage", "/files"])
      for (const m of (await page(tab)).matchAll(/href="\/settings#([\w-]+)"/g)) linked.add(m[1]!);
    expect([...linked]).toEqual(expect.arrayContaining(["set-mdns", "set-ollama", "set-relays"]));
    for (const id of linked) expect({ id, found: html.includes(`id="${id}"`) }).toEqual({ id, found: true });
    // Local discovery off in config.json: the Peers tab says where to turn it on, and when it applies.
    expect(await page("/peers")).toContain("Turn it on in <a");
    for (const id of [
      "set-ollama",
      "set-mdns",
      "set-bounty-allowance",
      "set-exempt-favorites",
      "set-exempt-friends",
      "set-peer-lost",
      "set-storage",
      "set-relays",
    ])
      expect({ id, found: html.includes(`id="${id}"`) }).toEqual({ id, found: true });
    // The cell's folders are named in words; the environment variables only in a tooltip.
    const facts = html.slice(html.indexOf("<h1>This cell"), html.indexOf('id="settings"'));
    expect(facts).toMatch(/<dt>This cell(&#39;|')s folder<\/dt>/);
    expect(facts).toContain("<dt>Your files folder</dt>");
    expect(facts.replace(/title="[^"]*"/g, "")).not.toContain("GROVE_");
  });

  test("local discovery, Ollama, the peer-lost window and the bounty's allowance and exemptions are saved and taken at once", async () => {
    const r = await post(
      "/settings",
      {
        ...savedForm(),
        peer_lost: "3",
        peer_lost_unit: "d",
        mdns: "on",
        ollama_mode: "address",
        ollama_address: "http://192.168.1.5:11434",
        bounty_allowance: "2",
        bounty_allowance_unit: "GiB",
        bounty_exempt_favorites: "no",
        bounty_exempt_friends: "no",
      },
      { htmx: true },
    );
    const html = await r.text();
    const status = textOf(html, "settings-status")!;
    expect(status).toContain(
      "In effect now: A peer is lost after, Local discovery, Ollama, Bounty allowance, Exempt favorites, Exempt friends.",
    );
    expect(status).not.toContain("next start");
    expect(fileJson()).toMatchObject({
      peer_lost_after_s: 3 * 86400,
      mdns: true,
      ollama_url: "http://192.168.1.5:11434",
      bounty_allowance_bytes: 2 * GiB,
      bounty_exempt_favorites: false,
      bounty_exempt_friends: false,
    });
    const running = app.rt.cell.config;
    expect(running).toMatchObject({ peer_lost_after_s: 3 * 86400, bounty_allowance_bytes: 2 * GiB, bounty_exempt_favorites: false });
    expect(running.mdns).toBe(true); // followed by the runtime (an app in process runs no mDNS: test/net/mdns-netns turns a real one on and off)
    expect(running.ollama_url).toBe("http://192.168.1.5:11434"); // taken at once; nothing is asked of it here (not probed on change)
    expect(app.rt.services.assistant?.ollama?.status()).toMatchObject({
      url: "http://192.168.1.5:11434",
      configured: true,
      checked_at: null,
    });
    // The Bounty tab reads the new allowance and exemptions now.
    const bounty = (await (await app.api("/api/bounty")).json()) as { allowance_bytes: number; exempt_friends: boolean };
    expect(bounty).toMatchObject({ allowance_bytes: 2 * GiB, exempt_friends: false });
    // The form shows what was saved; Ollama "auto" and "off" are saved as the file means them.
    const again = await page("/settings");
    expect(again).toMatch(/<option value="address" selected="">/);
    expect(again).toContain('value="http://192.168.1.5:11434"');
    await post("/settings", { ...savedForm(), ollama_mode: "off" }, { htmx: true });
    expect(fileJson().ollama_url).toBe("off");
    await post("/settings", { ...savedForm(), ollama_mode: "auto", ollama_address: "http://ignored.example:1" }, { htmx: true });
    expect(fileJson().ollama_url).toBeNull();
  });

  test("a bad Ollama address, an empty one, an unknown choice: plain messages, nothing written", async () => {
    const before = readFileSync(configPath, "utf8");
    const bad = await post(
      "/settings",
      { ...savedForm(), ollama_mode: "address", ollama_address: "ftp://x", mdns: "maybe" },
      { htmx: true },
    );
    const html = await bad.text();
    expect(textOf(html, "set-ollama-error")).toBe("Write the address as http://HOST:PORT, like http://192.168.1.5:11434.");
    expect(textOf(html, "set-mdns-error")).toBe("Choose on or off.");
    const empty = await post("/settings", { ...savedForm(), ollama_mode: "address", ollama_address: " ", peer_lost: "0" }, { htmx: true });
    const html2 = await empty.text();
    expect(textOf(html2, "set-ollama-error")).toBe("Enter the address of the Ollama to use, like http://192.168.1.5:11434.");
    expect(textOf(html2, "set-peer-lost-error")).toBe("Must be more than 0.");
    expect(readFileSync(configPath, "utf8")).toBe(before);
  });

  test("Share my models is taken at once: the card stops offering the models, and offers them again, without a restart", async () => {
    const assistant = app.rt.services.assistant!;
    writeTinyModel(join(app.rt.cell.layout.models, "tiny.gguf"));
    await assistant.refreshCardModels();
    // What this cell's signed card (the one peers fetch) offers its friends.
    const offered = () => app.rt.services.fleet.self.get().capabilities.models.map((m) => m.name);
    await post("/settings", { ...savedForm(), llm_share: "friends" }, { htmx: true });
    expect(offered()).toEqual(["tiny.gguf"]);
    const off = await post("/settings", { ...savedForm(), llm_share: "none" }, { htmx: true });
    expect(textOf(await off.text(), "settings-status")).toBe("Saved. In effect now: Share my models.");
    expect(app.rt.cell.config.llm_share).toBe("none");
    expect(offered()).toEqual([]);
    // The page no longer says the setting waits for a restart.
    const html = await page("/settings");
    expect(textOf(html, "set-models-help")).toContain("taken at once");
    expect(html).not.toContain('data-pending="llm_share"');
    await post("/settings", { ...savedForm(), llm_share: "friends" }, { htmx: true });
    expect(offered()).toEqual(["tiny.gguf"]);
  });
});
