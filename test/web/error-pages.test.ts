/**
 * No raw error text on a page (issue 22, point 4), in process: a 500 says what to do and names the
 * log's reference; a browser's post to an address that is nothing gets a human page with a link
 * back (API clients keep the JSON line); a peer's refusal that names its config keys or a CLI
 * command is said in the dashboard's words where a page shows it (the peer's JSON is unchanged).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app.ts";
import { firstRunSession } from "../helpers/cell.ts";
import { GroveError } from "../../src/core/errors.ts";
import { humanError, humanProblem } from "../../views/human-error.ts";

let cell: TestApp;
let session = "";
let csrf = "";

/** Nothing a person should not have to read: config keys, CLI commands, stack frames, route lines. */
const RAW = [/\b[a-z]+_[a-z_]+\b/, /`?grove [a-z]+/, /\bat \S+\.(?:ts|js):\d+/, /no route for/, /\/api\/files\//, /internal error/];
const clean = (text: string) => {
  for (const re of RAW) expect(text).not.toMatch(re);
};
/** The text inside the page's main element, tags removed. */
const mainText = (html: string) =>
  html
    .slice(html.indexOf("<main"), html.indexOf("</main>"))
    .replace(/<[^>]+>/g, " ")
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ");

beforeAll(async () => {
  cell = openApp({ name: "cell-a" });
  ({ cookie: session, csrf } = await firstRunSession((path, init) => cell.request(path, init), cell.dir));
});
afterAll(() => cell.close());

describe("a page that failed", () => {
  test("a 500 says what happened and what to do, with the log's reference, not the error", async () => {
    const sharing = cell.rt.services.sharing!;
    const feed = sharing.feed.bind(sharing);
    sharing.feed = () => {
      throw new TypeError("Cannot read properties of undefined (reading 'llm_share') at feed.ts:12");
    };
    try {
      const res = await cell.request("/feed", { headers: { cookie: session, accept: "text/html" } });
      expect(res.status).toBe(500);
      const text = mainText(await res.text());
      const ref = /under ([0-9a-f]{8})/.exec(text)?.[1];
      expect(ref).toBeDefined();
      expect(text).toContain("Try again; if it keeps happening, the cell's log has the details under");
      expect(text).not.toContain("Cannot read");
      clean(text);
      // The reference is the one the log carries, with the error behind it.
      expect(cell.logs()).toContain(`internal error ${ref}: Cannot read properties`);
    } finally {
      sharing.feed = feed;
    }
  });

  test("a browser's form post to no route gets 'This page does not exist' and a link back", async () => {
    const res = await cell.request("/files/nowhere/at-all", {
      method: "POST",
      headers: {
        cookie: session,
        accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "content-type": "application/x-www-form-urlencoded",
        "x-csrf-token": csrf,
      },
      body: "x=1",
    });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain("<h1>This page does not exist</h1>");
    expect(html).toContain('<a href="/">Back to the dashboard</a>');
    clean(mainText(html));
  });

  test("the same from htmx (no Accept text/html) is a page too, whose .error a toast shows", async () => {
    const res = await cell.request("/no/such/action", {
      method: "POST",
      headers: { cookie: session, "hx-request": "true", "x-csrf-token": csrf, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain("This page does not exist");
    expect(html).toMatch(/class="error"[^>]*>There is nothing at this address/);
    clean(mainText(html));
  });

  test("a page address that is nothing, opened in a browser, says so too", async () => {
    const res = await cell.request("/no-such-tab", { headers: { cookie: session, accept: "text/html" } });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain("This page does not exist");
    expect(mainText(html)).not.toContain("not found: /no-such-tab");
  });

  test("API clients keep the JSON line that says where file paths go", async () => {
    const res = await cell.api("/files/../../x", { method: "PUT", body: "x" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("file paths go under /api/files/");
    const get = await cell.api("/api/nothing-here");
    expect(get.status).toBe(404);
    expect(((await get.json()) as { error: string }).error).toBe("not found: /api/nothing-here");
  });
});

describe("a peer's refusal, where a page shows it", () => {
  // The peer protocol's words (web/peer-ai-api, web/peer-tree-api), as the asking side's error carries them.
  const models = new GroveError(
    'cell pi (ab12cd34) refused: this cell does not share its models (its llm_share is "none")',
    403,
    "forbidden",
  );
  const friends = new GroveError(
    "cell pi (ab12cd34) refused: cell cd34ef56 is not a friend of this cell: its models answer friends only",
    403,
    "forbidden",
  );
  const tree = new GroveError(
    "cell desk (ab12cd34) refused: this cell shares its tree only with its owner's other cells (paired with `grove invite --mine`)",
    403,
    "forbidden",
  );

  test("a cell that does not share its models: said so, with what to do, and no config key", () => {
    const text = humanError(models, "pi");
    expect(text).toBe(
      "pi does not share its models with you. Choose another model, or ask its owner to share models with friends in its Settings.",
    );
    clean(text);
  });

  test("a cell whose models answer friends only: said so, with what to do", () => {
    const text = humanError(friends, "pi");
    expect(text).toContain("pi shares its models with its friends only");
    expect(text).toContain("Peers tab");
    clean(text);
  });

  test("a tree refusal through a pin: only your own cells share their files, and how to pair one", () => {
    const text = humanError(tree, "your other cell");
    expect(text).toContain("Only your own cells share their files this way");
    expect(text).toContain("Peers tab as another of your devices");
    clean(text);
    // Also when the refusal came as a plain Error, or as a stored line.
    clean(humanError(new Error(tree.message), "your other cell"));
    clean(humanProblem(tree.message, "your other cell"));
  });

  test("any other refusal that names a config key or a command is not shown as it is", () => {
    for (const line of [
      'refused: its home_mode is "mirror"',
      "refused: run `grove trash restore x` first",
      "cell ab12cd34 refused: see config.json",
    ]) {
      const text = humanProblem(line, "desk");
      expect(text).toContain("Try again in a moment");
      clean(text);
    }
    // A message of this cell's own is not taken for another cell's refusal.
    expect(humanProblem("upload is larger than max_upload_bytes (100 bytes)", "desk")).not.toContain("desk");
    // A sentence already meant for people stays as it is.
    expect(humanProblem("that file is not here any more", "desk")).toBe("that file is not here any more");
  });
});
