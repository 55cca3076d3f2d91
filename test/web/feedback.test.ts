/**
 * Feedback on every action, in process (issue 22, point 6): the dashboard's htmx actions answer
 * with an `HX-Trigger` header carrying the `grove:toast` event (web/toast) that says what they did
 * — restore, purge, pin, share, join, friend, favorite, remove — as JSON a browser parses back to
 * the same text (non-ASCII escaped: a header is Latin-1). A plain form post gets no toast.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app.ts";
import { firstRunSession } from "../helpers/cell.ts";
import { toastHeader } from "../../src/web/toast.ts";
import type { CellId } from "../../src/core/types.ts";

let cell: TestApp;
let session = "";
let csrf = "";
const PEER = "c".repeat(64) as CellId;

const post = (path: string, form: Record<string, string>, htmx = true) =>
  cell.request(path, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: session,
      "x-csrf-token": csrf,
      "content-type": "application/x-www-form-urlencoded",
      ...(htmx ? { "hx-request": "true" } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });

/** The toast an answer carries (and the other events of its HX-Trigger), or null. */
function toastOf(res: Response): { message: string; kind: string; also: string[] } | null {
  const raw = res.headers.get("hx-trigger");
  if (!raw) return null;
  expect(raw).toMatch(/^[\x20-\x7e]*$/); // ASCII only
  const events = JSON.parse(raw) as Record<string, unknown>;
  const t = events["grove:toast"] as { message: string; kind: string } | undefined;
  if (!t) return null;
  return { ...t, also: Object.keys(events).filter((k) => k !== "grove:toast") };
}

beforeAll(async () => {
  cell = openApp({ name: "cell-a" });
  ({ cookie: session, csrf } = await firstRunSession((path, init) => cell.request(path, init), cell.dir));
  for (const text of ["one", "two", "three"])
    expect((await cell.api("/api/files/notes/día.txt", { method: "PUT", body: text })).status).toBe(201);
  cell.rt.services.peerStore.upsert(PEER, "desk", JSON.stringify({ id: PEER, name: "desk", addresses: ["http://127.0.0.1:9"] }));
});

afterAll(() => cell.close());

describe("the toast header", () => {
  test("is JSON in ASCII that parses back to the text, with the other events asked for", () => {
    const raw = toastHeader("Déjà “vu” — 🌳", "ok", ["peers-changed"]);
    expect(raw).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(raw)).toEqual({ "grove:toast": { message: "Déjà “vu” — 🌳", kind: "ok" }, "peers-changed": true });
    expect((JSON.parse(toastHeader("x".repeat(500))) as { "grove:toast": { message: string } })["grove:toast"].message.length).toBe(300);
  });
});

describe("the actions answer with a toast", () => {
  test("Restore: the version restored (and HX-Redirect to the file's page)", async () => {
    const res = await post("/files/restore", { path: "notes/día.txt", version: "1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("hx-redirect")).toContain("/files/detail?path=");
    expect(toastOf(res)).toEqual({
      message: "Version 1 of día.txt restored: it is the current version now (version 4).",
      kind: "ok",
      also: [],
    });
  });

  test("Purge: the version purged, and how long it waits in the Trash", async () => {
    const res = await post("/files/purge", { path: "notes/día.txt", version: "2" });
    expect(res.status).toBe(200);
    expect(toastOf(res)).toEqual({ message: "Version 2 of día.txt purged: it waits in the Trash for 7 days.", kind: "ok", also: [] });
    const all = toastOf(await post("/files/purge", { path: "notes/día.txt", version: "all" }));
    expect(all?.message).toBe("2 versions of día.txt purged: they wait in the Trash for 7 days.");
  });

  test("Pin and unpin: what each did, by the file's name", async () => {
    expect(toastOf(await post("/files/pin", { path: "notes/día.txt" }))).toEqual({
      message: "día.txt: pinned: kept in your files folder here",
      kind: "ok",
      also: [],
    });
    // A lone cell cannot let a file go (no other cell keeps it): said in an error toast.
    const un = toastOf(await post("/files/unpin", { path: "notes/día.txt" }));
    expect(un?.kind).toBe("error");
    expect(un?.message).toStartWith("día.txt: still pinned: ");
  });

  test("Share: nothing shared without a friend, said in an error toast beside the result lines", async () => {
    const res = await post("/share", { path: "notes/día.txt" });
    expect(await res.text()).toContain("Choose at least one friend");
    expect(toastOf(res)).toEqual({ message: "Nothing shared: Choose at least one friend to share with.", kind: "error", also: [] });
  });

  test("Join: a bad token is an error toast; the list is not told to reload", async () => {
    const res = await post("/peers/join", { token: "grove1.nonsense" });
    expect(await res.text()).toContain('id="join-result"');
    const t = toastOf(res);
    expect(t?.kind).toBe("error");
    expect(t?.message).toStartWith("Not joined: ");
    expect(t?.also).toEqual([]);
  });

  test("Favorite, unfavorite, friend and remove: each says what it did, by the peer's name", async () => {
    expect(toastOf(await post(`/peers/${PEER}/favorite`, {}))).toEqual({ message: "desk is a favorite now.", kind: "ok", also: [] });
    expect(toastOf(await post(`/peers/${PEER}/unfavorite`, {}))?.message).toBe("desk is no longer a favorite.");
    // A friend request to a cell that does not answer: recorded, and the toast says it was not told yet.
    const friend = toastOf(await post(`/peers/${PEER}/friend`, {}));
    expect(friend?.message).toStartWith("desk could not be told yet");
    expect(friend?.kind).toBe("error");
    const removed = await post(`/peers/${PEER}/remove`, {});
    expect(toastOf(removed)).toEqual({ message: "Removed desk. It must be invited again to pair.", kind: "ok", also: [] });
    expect(await removed.text()).not.toContain("data-peer=");
  });

  test("Revoke of a share that does not exist: an error toast; a plain form post gets none", async () => {
    const res = await post("/shares/nope/revoke", {});
    expect(toastOf(res)?.kind).toBe("error");
    const plain = await post("/shares/nope/revoke", { _csrf: csrf }, false);
    expect(plain.headers.get("hx-trigger")).toBeNull();
  });
});
