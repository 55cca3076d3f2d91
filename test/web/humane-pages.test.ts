/**
 * Humane status in the dashboard's pages, in process (issue 22, point 4): the Peers tab lists the
 * peers first, each online or offline with its route kind and last seen (relative, the exact time
 * on hover); a failed join says what happened without the socket error; the Storage tab draws the
 * bytes held per peer as a labelled SVG and names no config key; the Assistant and the Feed tell
 * no one to run a command or call the API.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app.ts";
import { firstRunSession } from "../helpers/cell.ts";
import type { PeerBook } from "../../src/fleet/peer-directory.ts";
import type { CellId } from "../../src/core/types.ts";

let cell: TestApp;
let other: TestApp;
let session = "";
let csrf = "";
const ONLINE = "a".repeat(64) as CellId;
const OFFLINE = "b".repeat(64) as CellId;
const SEEN = Date.now() - 5 * 60_000;

const page = async (path: string) => {
  const res = await cell.request(path, { headers: { cookie: session } });
  expect(res.status).toBe(200);
  return res.text();
};
const post = (path: string, body: string) =>
  cell.request(path, {
    method: "POST",
    headers: { cookie: session, "x-csrf-token": csrf, "hx-request": "true", "content-type": "application/x-www-form-urlencoded" },
    body,
  });
const TECHNICAL = ["ECONNREFUSED", "127.0.0.1:", "Unable to connect", "http://"];

beforeAll(async () => {
  cell = openApp({ replication_factor: 2, name: "cell-a" });
  other = openApp({ name: "cell-z" });
  // A dashboard session, as the browser gets it at first run.
  ({ cookie: session, csrf } = await firstRunSession((path, init) => cell.request(path, init), cell.dir));

  // Two peers: one answered the last probe on the LAN, the other answered none.
  const { peerStore, peers } = cell.rt.services;
  peerStore.upsert(ONLINE, "desk-on-lan", "{}");
  peerStore.upsert(OFFLINE, "pi-in-the-attic", "{}", SEEN);
  const route = (reachable: boolean) => ({
    latency_ms: 2.5,
    mb_s: 40,
    samples: 1,
    last_probe_at: Date.now(),
    last_benchmark_at: Date.now(),
    reachable,
  });
  writeFileSync(
    join(cell.dir, "peer_speeds.json"),
    JSON.stringify({ [ONLINE]: { "http://192.168.1.5:5679": route(true) }, [OFFLINE]: { "http://127.0.0.1:9": route(false) } }),
  );
  (peers as PeerBook).reloadStats();
});

afterAll(() => {
  cell.close();
  other.close();
});

describe("the Peers tab", () => {
  test("lists the peers before the invite and join forms, each online or offline, with its route kind and last seen", async () => {
    const html = await page("/peers");
    const list = html.indexOf('id="peer-list"');
    expect(list).toBeGreaterThan(0);
    expect(list).toBeLessThan(html.indexOf('id="invite-section"'));
    expect(list).toBeLessThan(html.indexOf('id="join-section"'));
    expect(html).toContain("1 of 2 online");

    const row = (id: string) => html.slice(html.indexOf(`data-peer="${id}"`), html.indexOf("</tr>", html.indexOf(`data-peer="${id}"`)));
    const on = row(ONLINE);
    expect(on).toContain('data-presence="online"');
    expect(on).toContain(">online<");
    expect(on).toContain("direct (LAN)");
    expect(on).toContain("2.5 ms · 40 MB/s");
    expect(on).toContain("just now");

    const off = row(OFFLINE);
    expect(off).toContain('data-presence="offline"');
    expect(off).toContain(">offline<");
    expect(off).toContain("no route answers");
    // Last seen: relative, with the exact time on hover.
    expect(off).toMatch(/<time datetime="[^"]+" title="\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC">5 min ago<\/time>/);
  });

  test("no command or config file to type: the invite is pasted in the other cell's Peers tab", async () => {
    const html = await page("/peers");
    for (const s of ["grove relay", "config.json", '"mdns"', "grove join"]) expect(html).not.toContain(s);
    const invite = await (await post("/peers/invite", "ttl=3600&kind=peer")).text();
    expect(invite).toContain("paste it in the Peers tab of");
    expect(invite).not.toContain("grove join");
  });

  test("joining with this cell's own invite says to use it on the other cell, naming no command", async () => {
    const token = cell.rt.services.fleet.invite(60_000).token;
    const html = await (await post("/peers/join", `token=${encodeURIComponent(token)}`)).text();
    expect(html).toContain('class="error"');
    expect(html).toContain("this invite was made by this cell: use it on the other cell");
    expect(html).not.toContain("grove");
  });

  test("a join that cannot reach the inviting cell says so in words, without the socket error", async () => {
    const token = other.rt.services.fleet.invite(60_000).token;
    const html = await (await post("/peers/join", `token=${encodeURIComponent(token)}`)).text();
    expect(html).toContain('class="error"');
    expect(html).toContain("could not be reached");
    for (const bad of TECHNICAL) expect(html).not.toContain(bad);
    expect(cell.logs()).toContain("join from the dashboard failed");
  });
});

describe("the Share dialog", () => {
  test("sharing with a peer that is not a friend says what to do in the Peers tab, naming no command", async () => {
    expect((await cell.api("/api/files/shared.txt", { method: "PUT", body: "hello" })).status).toBe(201);
    cell.rt.services.peerStore.setFriendship(OFFLINE, "asked", null);
    const share = async (peer: string) =>
      (
        await post(
          "/share",
          new URLSearchParams([
            ["path", "shared.txt"],
            ["peer", peer],
          ]).toString(),
        )
      ).text();
    const none = await share(ONLINE);
    expect(none).toContain("desk-on-lan is not a friend: use “Ask to be friends” in the Peers tab");
    const asked = await share(OFFLINE);
    expect(asked).toContain("pi-in-the-attic asked to be friends: accept with “Accept friend” in the Peers tab");
    for (const html of [none, asked]) expect(html).not.toContain("grove peers");
  });
});

describe("accepting a peer that has not asked", () => {
  test("names the Peers tab's button, not grove peers friend; nothing changes", async () => {
    const html = await (await post(`/peers/${ONLINE}/accept`, "")).text();
    expect(html).toContain("desk-on-lan has not asked to be friends: use “Ask to be friends” to ask it.");
    expect(html).not.toContain("grove peers");
    expect(cell.rt.services.peerStore.get(ONLINE)?.friendship).toBe("none");
  });
});

describe("the Storage tab", () => {
  test("bytes held per peer as an SVG with role img and a label; no config key in the prose", async () => {
    const html = await page("/storage");
    expect(html).toMatch(/<svg class="chart"[^>]*role="img"[^>]*aria-label="Bytes held per peer: desk-on-lan keeps 0 B for this cell/);
    expect(html).not.toContain("<pre");
    for (const key of ["max_peer_storage_bytes", "peer_lost_after_s", "sync_interval_s"]) expect(html).not.toContain(key);
  });
});

describe("no command or API call where the dashboard does it", () => {
  test("the Assistant offers its Upload button and names no API, curl or state folder", async () => {
    const html = await page("/assistant");
    expect(html).toContain('id="model-upload"');
    for (const s of ["PUT /api", "/api/models", "curl", "GROVE_DIR", "ollama_url"]) expect(html).not.toContain(s);
  });

  test("the Feed's empty state points to the tabs, not to grove share", async () => {
    const html = await page("/feed");
    expect(html).toContain("Nothing shared with you yet");
    expect(html).not.toContain("grove share");
    expect(html.slice(html.indexOf("<main"))).not.toMatch(/[0-9a-f]{64}/); // no id to copy by hand
  });
});
