// Pairing real cells with invites, and the peer API's request/response authentication, against
// real `grove start` processes on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCell, freePort, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { fromHex, type CellId } from "../../src/core/types.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { signRequest, HEADER } from "../../src/protocol/request-auth.ts";
import { callPeer } from "../../src/net/peer-client.ts";
import type { CellKeys } from "../../src/crypto/keys.ts";

let a: TestCell, b: TestCell, c: TestCell;
const cfg = { mdns: false };
beforeAll(async () => {
  // c signs and verifies with the portable Ed25519 (and seals with the portable suite), a and b
  // with libsodium where it loads: every call between them checks that the two agree.
  [a, b, c] = await Promise.all([
    startCell({ config: cfg }),
    startCell({ config: cfg }),
    startCell({ config: { ...cfg, crypto: "portable" } }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(c)]);
});

/** A cell's id (its node.pub; `grove id` prints the same, test/cli). */
const id = async (x: TestCell) => cellIdOf(x);

/** The keys of a test cell, read from its GROVE_DIR (as the cell itself derives them). */
function keysOf(x: TestCell): CellKeys {
  const root = fromHex(readFileSync(join(x.dir, "root.key"), "utf8").trim());
  const k = deriveIdentity(root);
  return { ...k, root, id: Buffer.from(k.ed25519Public).toString("hex") as CellId, apiToken: x.token };
}

describe("invites", () => {
  test("three cells pair by invites and each lists the other two", async () => {
    expect(c.output()).toContain("crypto: portable");
    if (process.platform === "linux" && process.arch === "x64") expect(a.output()).toContain("crypto: native");
    const ab = await a.cli(["invite"]);
    expect(ab.code).toBe(0);
    expect(ab.stdout.trim()).toMatch(/^grove1\.[A-Za-z0-9_-]+$/);
    expect((await b.cli(["join", ab.stdout.trim()])).code).toBe(0);
    const ac = JSON.parse((await a.cli(["invite", "--ttl", "10m", "--json"])).stdout);
    expect(Date.parse(ac.expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect((await c.cli(["join", ac.token])).code).toBe(0);
    const bc = (await b.cli(["invite"])).stdout.trim();
    expect((await c.cli(["join", bc])).code).toBe(0);
    const [ia, ib, ic] = await Promise.all([id(a), id(b), id(c)]);
    for (const [x, others] of [
      [a, [ib, ic]],
      [b, [ia, ic]],
      [c, [ia, ib]],
    ] as const) {
      const list = JSON.parse((await x.cli(["peers", "--json"])).stdout);
      expect(list.map((p: { id: string }) => p.id).sort()).toEqual([...others].sort());
      for (const p of list) expect(p).toMatchObject({ friend: false, favorite: false });
      expect(list[0]).toHaveProperty("last_seen");
    }
    // Routes are measured: a probe round gives every peer a reachable best route with a latency
    // and, on first contact, a benchmark throughput; the records survive in peer_speeds.json.
    for (const x of [a, b, c]) {
      const probed = JSON.parse((await x.cli(["peers", "--probe", "--json"])).stdout);
      expect(probed.length).toBe(2);
      for (const p of probed) {
        expect(p.best_route).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(p.latency_ms).toBeGreaterThan(0);
        expect(p.mb_s).toBeGreaterThan(0);
        expect(p.uptime_pct).toBe(100);
        expect(p.routes[0]).toMatchObject({ kind: "lan", reachable: true });
      }
    }
    const speeds = JSON.parse(readFileSync(join(a.dir, "peer_speeds.json"), "utf8"));
    expect(Object.keys(speeds).sort()).toEqual([ib, ic].sort());
    expect(readFileSync(join(a.dir, "peer_health.json"), "utf8")).toContain(ib);
  });

  test("a used, expired, malformed or forged token is refused and stores nothing", async () => {
    const before = JSON.parse((await b.cli(["peers", "--json"])).stdout).length;
    const tok = (await a.cli(["invite"])).stdout.trim();
    // Used: c joins (already a peer: pairing again is fine), then b tries the same token.
    expect((await c.cli(["join", tok])).code).toBe(0);
    // No invite of a's is live now: a reads nothing of the request and says so.
    const none = await b.cli(["join", tok]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("has no open invite");
    expect((await a.cli(["invite"])).code).toBe(0); // another invite is live: the used secret is read, and refused
    const used = await b.cli(["join", tok]);
    expect(used.code).toBe(1);
    expect(used.stderr).toContain("already used");
    const short = (await a.cli(["invite", "--ttl", "1s"])).stdout.trim();
    await Bun.sleep(1100);
    const expired = await b.cli(["join", short]);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain("expired");
    const bad = await b.cli(["join", "grove1.bm90LWpzb24"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("damaged");
    // Forged: a valid-looking token with a secret a never issued.
    const real = JSON.parse(Buffer.from(tok.slice(7), "base64url").toString());
    const forged =
      "grove1." + Buffer.from(JSON.stringify({ ...real, secret: "0".repeat(64), expires_at: Date.now() + 60_000 })).toString("base64url");
    const f = await b.cli(["join", forged]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain("unknown invite");
    // Forged: names another cell's id at a's address: the answer does not verify as that cell.
    const impostor =
      "grove1." + Buffer.from(JSON.stringify({ ...real, id: await id(c), expires_at: Date.now() + 60_000 })).toString("base64url");
    const g = await b.cli(["join", impostor]);
    expect(g.code).toBe(1);
    expect(JSON.parse((await b.cli(["peers", "--json"])).stdout).length).toBe(before);
  });

  test("friend (a request, then accepted), favorite and remove by id prefix", async () => {
    const ib = await id(b);
    expect((await a.cli(["peers", "friend", ib.slice(0, 6)])).code).toBe(0);
    expect((await a.cli(["peers", "favorite", ib.slice(0, 6)])).code).toBe(0);
    let p = JSON.parse((await a.cli(["peers", "--json"])).stdout).find((x: { id: string }) => x.id === ib);
    expect(p).toMatchObject({ friend: false, friendship: "requested", favorite: true });
    expect((await b.cli(["peers", "accept", (await id(a)).slice(0, 6)])).code).toBe(0);
    p = JSON.parse((await a.cli(["peers", "--json"])).stdout).find((x: { id: string }) => x.id === ib);
    expect(p).toMatchObject({ friend: true, friendship: "friends", favorite: true });
    expect((await a.cli(["peers", "unfavorite", ib.slice(0, 6)])).code).toBe(0);
    p = JSON.parse((await a.cli(["peers", "--json"])).stdout).find((x: { id: string }) => x.id === ib);
    expect(p).toMatchObject({ friend: true, favorite: false });
    const human = await a.cli(["peers"]);
    expect(human.stdout).toContain(ib.slice(0, 12));
    const bad = await a.cli(["peers", "friend", "zz"]);
    expect(bad.code).not.toBe(0);
    const ic = await id(c);
    expect((await a.cli(["peers", "remove", ic.slice(0, 8)])).code).toBe(0);
    expect(JSON.parse((await a.cli(["peers", "--json"])).stdout).map((x: { id: string }) => x.id)).toEqual([ib]);
    // A removed cell is a stranger again: its signed requests are refused.
    await expect(callPeer(keysOf(c), a.url, (await id(a)) as CellId, "POST", "/peer/ping", {})).rejects.toThrow(/refused/);
  });
});

describe("peer API authentication (against a real cell)", () => {
  const ping = async (
    from: CellKeys,
    to: TestCell,
    toId: CellId,
    opts: { body?: string; tamper?: string; now?: number; headers?: Record<string, string> } = {},
  ) => {
    const body = opts.body ?? '{"hello":1}';
    const h = opts.headers ?? { ...signRequest(from.ed25519Secret, from.id, "POST", "/peer/ping", body, { to: toId, now: opts.now }) };
    return fetch(to.url + "/peer/ping", { method: "POST", headers: h, body: opts.tamper ?? body });
  };

  test("a signed request from a peer is answered and the answer verifies", async () => {
    const r = await callPeer<{ id: string }>(keysOf(b), a.url, (await id(a)) as CellId, "POST", "/peer/ping", { x: 1 });
    expect(r.body.id).toBe(await id(a));
  });

  test("unknown cell, tampered body, replay and stale time: each 401", async () => {
    const ia = (await id(a)) as CellId;
    const stranger = deriveIdentity(new Uint8Array(32).fill(9));
    const strangerKeys = {
      ...stranger,
      root: new Uint8Array(32),
      id: Buffer.from(stranger.ed25519Public).toString("hex") as CellId,
      apiToken: "",
    };
    const unknown = await ping(strangerKeys, a, ia);
    expect(unknown.status).toBe(401);
    expect((await unknown.json()).reason).toBe("unknown_cell");

    const tampered = await ping(keysOf(b), a, ia, { tamper: '{"hello":2}' });
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).reason).toBe("bad_signature");

    const headers = { ...signRequest(keysOf(b).ed25519Secret, keysOf(b).id, "POST", "/peer/ping", "{}", { to: ia }) };
    expect((await ping(keysOf(b), a, ia, { body: "{}", headers })).status).toBe(200);
    const replay = await ping(keysOf(b), a, ia, { body: "{}", headers });
    expect(replay.status).toBe(401);
    expect((await replay.json()).reason).toBe("replayed");

    const stale = await ping(keysOf(b), a, ia, { now: Date.now() - 10 * 60_000 });
    expect(stale.status).toBe(401);
    expect((await stale.json()).reason).toBe("stale");

    // Signed for another cell: refused (requests are bound to their recipient).
    const misdirected = await ping(keysOf(b), a, (await id(c)) as CellId);
    expect(misdirected.status).toBe(401);
    expect(a.output()).toContain("peer request refused");
  });

  test("an answer altered in transit is rejected by the client", async () => {
    // A tiny man in the middle on loopback that flips one byte of every answer body.
    const mitm = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const u = new URL(req.url);
        const upstream = await fetch(a.url + u.pathname + u.search, {
          method: req.method,
          headers: req.headers,
          body: await req.arrayBuffer(),
        });
        const body = new Uint8Array(await upstream.arrayBuffer());
        if (body.length) body[body.length - 2]! ^= 1;
        return new Response(body, { status: upstream.status, headers: upstream.headers });
      },
    });
    try {
      await expect(
        callPeer(keysOf(b), `http://127.0.0.1:${mitm.port}`, (await id(a)) as CellId, "POST", "/peer/ping", { x: 1 }),
      ).rejects.toThrow(/not signed by cell/);
    } finally {
      mitm.stop(true);
    }
  });

  test("the refusal itself is signed, so a client can tell it came from the cell", async () => {
    const r = await ping(keysOf(b), a, (await id(a)) as CellId, { tamper: "{}" });
    expect(r.status).toBe(401);
    expect(r.headers.get(HEADER.response)).toMatch(/^[0-9a-f]{128}$/);
  });
});

describe("nothing readable crosses the wire", () => {
  test("the join exchange is sealed: an observer sees neither the secret nor either card", async () => {
    const seen: Uint8Array[] = [];
    const tap = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const u = new URL(req.url);
        const body = new Uint8Array(await req.arrayBuffer());
        seen.push(body);
        const upstream = await fetch(a.url + u.pathname + u.search, { method: req.method, headers: req.headers, body });
        const answer = new Uint8Array(await upstream.arrayBuffer());
        seen.push(answer);
        return new Response(answer, { status: upstream.status, headers: upstream.headers });
      },
    });
    const d = await startCell({ config: { name: "observed-joiner" } });
    try {
      const tok = (await a.cli(["invite"])).stdout.trim();
      const t = JSON.parse(Buffer.from(tok.slice(7), "base64url").toString());
      const viaTap = "grove1." + Buffer.from(JSON.stringify({ ...t, routes: [`http://127.0.0.1:${tap.port}`] })).toString("base64url");
      expect((await d.cli(["join", viaTap])).code).toBe(0);
      expect(seen.length).toBe(2);
      const wire = Buffer.concat(seen).toString("latin1");
      for (const secretOrName of [t.secret, "observed-joiner", (await id(d)).slice(0, 16), a.url.split(":").pop()!]) {
        expect(wire.includes(secretOrName)).toBe(false);
      }
      expect(JSON.parse((await d.cli(["peers", "--json"])).stdout)[0].id).toBe(await id(a));
    } finally {
      tap.stop(true);
      await destroyCell(d);
    }
  });
});

describe("mdns off", () => {
  test("config mdns: false turns discovery off (no multicast, nearby says so)", async () => {
    const q = await startCell({ config: { mdns: false }, env: { GROVE_MDNS: "1" } });
    try {
      const r = await q.api("/api/nearby");
      expect(await r.json()).toEqual({ mdns: false, mdns_off: "config", cells: [] });
      expect((await q.cli(["nearby"])).stderr).toContain("mDNS is off");
    } finally {
      await destroyCell(q);
    }
  });
});

describe("cards", () => {
  test("a peer's new card (renamed, restarted) reaches its peers at the next probe round", async () => {
    const port = freePort(); // free a moment ago (a port from the pid once met another test's cell)
    const d = await startCell({ config: { name: "before" }, listen: { host: "127.0.0.1", port } });
    const e = await startCell({ config: { name: "watcher" } });
    try {
      expect((await d.cli(["join", (await e.cli(["invite"])).stdout.trim()])).code).toBe(0);
      expect(JSON.parse((await e.cli(["peers", "--json"])).stdout)[0].name).toBe("before");
      await d.stop();
      const { writeFileSync } = await import("node:fs");
      writeFileSync(join(d.dir, "config.json"), JSON.stringify({ name: "after" }));
      await Bun.sleep(1100); // the new card is issued at least a second later
      const d2 = await startCell({ root: d.root, listen: { host: "127.0.0.1", port } });
      try {
        const list = JSON.parse((await e.cli(["peers", "--probe", "--json"])).stdout);
        expect(list[0].name).toBe("after");
      } finally {
        await d2.stop();
      }
    } finally {
      await Promise.all([destroyCell(d), destroyCell(e)]);
    }
  }, 60_000);
});
