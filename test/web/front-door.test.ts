/**
 * The Front door attacks, performed against real cells: setup takeover through a foreign Host
 * (DNS rebinding), the listeners each surface really binds, unbounded bodies and answers, one
 * peer flooding another's replay state, parallel wrong logins, and stored files opened as
 * active content. Each test is the attack; docs/threat-model.md names them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { dashboardSession, destroyCell, pair, setupCode, startCell, type TestCell } from "../helpers/cell.ts";
import { listeningOn, peakRss } from "../helpers/proc.ts";
import { signRequest } from "../../src/protocol/request-auth.ts";
import { fromHex, type CellId } from "../../src/core/types.ts";
import { encodeToken } from "../../src/fleet/invite-token.ts";

const MiB = 1024 * 1024;

/** A request body of `bytes` zeros sent with Transfer-Encoding: chunked (no length), 1 MiB at a time. */
function chunkedZeros(bytes: number): ReadableStream<Uint8Array> {
  const piece = new Uint8Array(MiB);
  let sent = 0;
  return new ReadableStream({
    pull(ctl) {
      if (sent >= bytes) return ctl.close();
      ctl.enqueue(piece);
      sent += piece.byteLength;
    },
  });
}

/** A raw HTTP/1.1 request from a chosen loopback source address (fetch cannot pick one). */
function requestFrom(
  localAddress: string,
  port: number,
  head: string,
  body: string,
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, localAddress }, () =>
      s.write(head + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` + body),
    );
    let buf = "";
    s.on("data", (d) => (buf += d.toString("utf8")));
    s.on("error", reject);
    s.on("end", () => {
      const i = buf.indexOf("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1] ?? 0), headers: buf.slice(0, i), body: buf.slice(i + 4) });
    });
  });
}

/** The login form's cookie and token. */
async function loginForm(c: TestCell): Promise<{ cookie: string; token: string }> {
  const r = await fetch(c.url + "/login");
  return { cookie: r.headers.get("set-cookie")!.split(";")[0]!, token: /name="_csrf" value="([^"]+)"/.exec(await r.text())![1]! };
}

describe("setup takeover through a foreign Host (DNS rebinding)", () => {
  let c: TestCell;
  beforeAll(async () => {
    c = await startCell({ config: { watch_home: false } });
  });
  afterAll(() => destroyCell(c));

  test("the setup code is printed at start and written 600; the attack of the issue is refused", async () => {
    const code = setupCode(c);
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    expect(statSync(join(c.dir, "setup_code")).mode & 0o777).toBe(0o600);
    expect(c.output()).toContain(`First-run setup code: ${code}`);

    // The attack: the page with the attacker's Host, then POST /setup with the same Host.
    const evil = { host: `x.attacker.test:${c.port}` };
    const page = await fetch(c.url + "/setup", { headers: evil });
    expect(page.status).toBe(403);
    expect((await page.json()).error).toContain("does not answer to the name 'x.attacker.test");
    const ok = await fetch(c.url + "/setup");
    const formCookie = ok.headers.get("set-cookie")!.split(";")[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await ok.text())![1]!;
    const form = (extra: Record<string, string>) =>
      new URLSearchParams({ _csrf: token, password: "attacker-pass", confirm: "attacker-pass", ...extra }).toString();
    const post = (headers: Record<string, string>, body: string) =>
      fetch(c.url + "/setup", {
        method: "POST",
        redirect: "manual",
        headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded", ...headers },
        body,
      });
    // Even with the right code, a foreign Host gets nothing.
    let r = await post(evil, form({ code }));
    expect(r.status).toBe(403);
    expect(r.headers.get("set-cookie")).toBeNull();
    // The right Host without the code, or with a wrong one: refused too.
    expect((await post({}, form({}))).status).toBe(403);
    expect((await post({}, form({ code: "AAAA-BBBB-CCCC-DDDD" }))).status).toBe(403);
    expect(existsSync(join(c.dir, "dashboard_auth"))).toBe(false);
    expect(c.output()).toContain("first-run setup refused: wrong setup code");

    // Every other non-peer surface refuses the foreign Host as well, the API with a valid token included.
    for (const [path, init] of [
      ["/", {}],
      ["/login", {}],
      ["/static/app.js", {}],
      ["/api/status", { authorization: `Bearer ${c.token}` }],
      ["/api/files/", { authorization: `Bearer ${c.token}` }],
    ] as const) {
      const res = await fetch(c.url + path, { headers: { ...init, ...evil }, redirect: "manual" });
      expect(`${path} ${res.status}`).toBe(`${path} 403`);
    }
    // This cell's own names pass.
    for (const host of [`localhost:${c.port}`, `127.0.0.1:${c.port}`, `[::1]:${c.port}`, "localhost"]) {
      expect((await fetch(c.url + "/api/status", { headers: { host, authorization: `Bearer ${c.token}` } })).status).toBe(200);
    }
    // /peer routes do not depend on Host (they are signed): a foreign Host reaches the signature check.
    expect((await fetch(c.url + "/peer/ping", { method: "POST", headers: evil })).status).toBe(401);

    // The owner, with the code: a session, and the code is used up.
    r = await post({}, form({ code }));
    expect(r.status).toBe(303);
    expect(existsSync(join(c.dir, "setup_code"))).toBe(false);
  });

  test("grove password resets the password from the CLI and ends every session", async () => {
    const form = await loginForm(c);
    const login = (pw: string) =>
      fetch(c.url + "/login", {
        method: "POST",
        redirect: "manual",
        headers: { cookie: form.cookie, "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${form.token}&password=${pw}`,
      });
    const before = await login("attacker-pass");
    expect(before.status).toBe(303);
    const session = before.headers.get("set-cookie")!.split(";")[0]!;
    expect((await fetch(c.url + "/files", { headers: { cookie: session }, redirect: "manual" })).status).toBe(200);

    const short = await c.cli(["password"], { stdin: "short\n" });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 8 characters");
    const r = await c.cli(["password"], { stdin: "a-brand-new-password\n" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Dashboard password changed. 2 dashboard sessions ended"); // the setup one and the login one
    // The old session is over, the old password too; the new one works.
    const after = await fetch(c.url + "/files", { headers: { cookie: session }, redirect: "manual" });
    expect(after.status).toBe(302);
    expect(after.headers.get("location")).toBe("/login");
    expect((await login("attacker-pass")).status).toBe(401);
    expect((await login("a-brand-new-password")).status).toBe(303);
  });
});

describe("each surface on its own listener", () => {
  let c: TestCell;
  beforeAll(async () => {
    // The defaults but the ports: dashboard 127.0.0.1, peers on every interface.
    c = await startCell({ config: { watch_home: false }, args: ["--peer-host", "0.0.0.0"] });
  });
  afterAll(() => destroyCell(c));

  test("the dashboard binds 127.0.0.1 only, the peer API 0.0.0.0; Settings and /api/status say so", async () => {
    expect(listeningOn(c.port)).toEqual(["127.0.0.1"]);
    expect(listeningOn(c.peerPort)).toEqual(["0.0.0.0"]);
    const st = (await (await c.api("/api/status")).json()) as {
      listening: { dashboard: { url: string; public: boolean }; peer: { host: string; port: number }; legacy: null };
    };
    expect(st.listening.dashboard).toMatchObject({ url: c.url, public: false });
    expect(st.listening.peer).toMatchObject({ host: "0.0.0.0", port: c.peerPort });
    expect(st.listening.legacy).toBeNull();
    const { cookie } = await dashboardSession(c);
    const settings = await (await fetch(c.url + "/settings", { headers: { cookie } })).text();
    expect(settings).toContain(c.url);
    expect(settings).toContain("this machine only");
    expect(settings).toContain(`http://127.0.0.1:${c.peerPort}`);
    // The card advertises the peer port, never the dashboard's.
    const card = (await (await c.api("/api/status")).json()) as { id: string };
    expect(card.id).toMatch(/^[0-9a-f]{64}$/);
  });

  test("the peer listener serves /peer alone: the API, the dashboard and the local API are not there", async () => {
    for (const path of ["/api/status", "/files", "/setup", "/api/local/put", "/static/app.js"]) {
      const r = await fetch(`${c.peerUrl}${path}`, { headers: { authorization: `Bearer ${c.token}` }, redirect: "manual" });
      expect(`${path} ${r.status}`).toBe(`${path} 404`);
    }
    const put = await fetch(`${c.peerUrl}/api/local/put`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
      body: JSON.stringify({ source: "/etc/hostname", path: "h" }),
    });
    expect(put.status).toBe(404);
    expect((await fetch(`${c.peerUrl}/peer/ping`, { method: "POST" })).status).toBe(401); // signed, as ever
    // A browser on this machine that opens the peer port (an old bookmark) is sent to the dashboard.
    const root = await fetch(`${c.peerUrl}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe(`http://localhost:${c.port}/`);
  });
});

describe("unbounded bodies and answers", () => {
  let c: TestCell;
  beforeAll(async () => {
    c = await startCell({ config: { watch_home: false } });
  });
  afterAll(() => destroyCell(c));

  test("the issue's 400 MB chunked POST to /peer/join: nothing read without an invite; with one, 413 early; the cell grows by under 64 MiB", async () => {
    const pid = c.proc.pid;
    const peak0 = peakRss(pid);
    let t0 = performance.now();
    let r = await fetch(`${c.peerUrl}/peer/join`, { method: "POST", body: chunkedZeros(400 * MiB), duplex: "half" } as RequestInit);
    expect(r.status).toBe(404);
    expect((await r.json()).reason).toBe("no_invite");
    expect(performance.now() - t0).toBeLessThan(5000);

    expect((await c.cli(["invite"])).code).toBe(0); // a live invite: the body is read, up to 1 MiB
    t0 = performance.now();
    r = await fetch(`${c.peerUrl}/peer/join`, { method: "POST", body: chunkedZeros(400 * MiB), duplex: "half" } as RequestInit);
    expect(r.status).toBe(413);
    expect(performance.now() - t0).toBeLessThan(5000);
    // A route after the precheck (a known peer's id is public; the signature is never reached).
    const fake = {
      "X-Grove-Cell": "a".repeat(64),
      "X-Grove-Time": String(Date.now()),
      "X-Grove-Nonce": "b".repeat(32),
      "X-Grove-Signature": "c".repeat(128),
    };
    r = await fetch(`${c.peerUrl}/peer/msg`, {
      method: "POST",
      headers: fake,
      body: chunkedZeros(400 * MiB),
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(401); // an unknown cell: refused before any byte is read
    // The dashboard's routes: login and the API bound their bodies as well.
    r = await fetch(`${c.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: chunkedZeros(400 * MiB),
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    r = await fetch(`${c.url}/api/invites`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
      body: chunkedZeros(400 * MiB),
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    const grew = peakRss(pid) - peak0;
    console.log(
      `400 MB chunked bodies: peak RSS ${(peak0 / MiB).toFixed(0)} MiB before, grew ${(grew / MiB).toFixed(1)} MiB; 413 from /peer/join after ${(performance.now() - t0).toFixed(0)} ms (the last four requests)`,
    );
    expect(grew).toBeLessThan(64 * MiB);
    expect(c.output()).toContain("body over 1048576 bytes");
  });

  test("an upload with no length (chunked) through the listener, its pieces freed as they are spooled: stored and read back byte for byte", async () => {
    const data = new Uint8Array(9 * MiB + 12_345);
    for (let i = 0; i < data.length; i += 65_536) crypto.getRandomValues(data.subarray(i, Math.min(data.length, i + 65_536)));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= data.length) return ctl.close();
        const n = Math.min(300_001, data.length - sent); // odd piece sizes: pieces cross the spool's buffers
        ctl.enqueue(data.slice(sent, sent + n));
        sent += n;
      },
    });
    const auth = { authorization: `Bearer ${c.token}` };
    const put = await fetch(`${c.url}/api/files/chunked/upload.bin`, { method: "PUT", headers: auth, body, duplex: "half" } as RequestInit);
    expect(put.status).toBe(201);
    const got = new Uint8Array(await (await fetch(`${c.url}/api/files/chunked/upload.bin`, { headers: auth })).arrayBuffer());
    expect(got.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(data))).toBe(0);
  });

  test("an endless answer from a 'peer': the cell stops reading at its bound and says why", async () => {
    // A server that answers every request with zeros that never end.
    const endless = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(
          new ReadableStream({
            pull(ctl) {
              ctl.enqueue(new Uint8Array(MiB));
            },
          }),
        ),
    });
    try {
      const id = "d".repeat(64);
      const token = encodeToken({
        v: 1,
        id: id as CellId,
        x25519: "ab".repeat(32),
        routes: [`http://127.0.0.1:${endless.port}`],
        secret: "e".repeat(64),
        expires_at: Date.now() + 60_000,
      });
      const pid = c.proc.pid;
      const peak0 = peakRss(pid);
      const r = await c.cli(["join", token]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("sent an answer over the 17825792 bytes read from a peer");
      console.log(`endless peer answer: the cell's peak RSS grew ${((peakRss(pid) - peak0) / MiB).toFixed(1)} MiB`);
      expect(peakRss(pid) - peak0).toBeLessThan(64 * MiB);
    } finally {
      endless.stop(true);
    }
  });
});

describe("one peer cannot lock the others out", () => {
  let a: TestCell, b: TestCell, flooder: TestCell;
  beforeAll(async () => {
    [a, b, flooder] = await Promise.all([0, 1, 2].map(() => startCell({ config: { watch_home: false, sync_interval_s: 3600 } })));
    await pair(a, b);
    await pair(a, flooder);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a, b, flooder].map(destroyCell));
  });

  /** The cells' ids, read once (node.pub): the flood's time goes to the cell, not to the test reading files. */
  const ids = new Map<TestCell, CellId>();
  const idOf = (x: TestCell) => ids.get(x) ?? (ids.set(x, readFileSync(join(x.dir, "node.pub"), "utf8").trim() as CellId), ids.get(x)!);
  /** A ping to `a` signed by `from`'s key, stamped `at`. */
  function ping(from: TestCell, key: Uint8Array, at: number): Promise<Response> {
    const id = idOf(from);
    const aId = idOf(a);
    const headers = signRequest(key, id, "POST", "/peer/ping", null, { to: aId, now: at });
    return fetch(`${a.peerUrl}/peer/ping`, { method: "POST", headers: { ...headers } });
  }

  test("50,001 signed pings from one peer: it is rate limited, its far-future stamps refused; the other peer's requests keep succeeding", async () => {
    const fKey = fromHex(readFileSync(join(flooder.dir, "node.key"), "utf8").trim());
    const bKey = fromHex(readFileSync(join(b.dir, "node.key"), "utf8").trim());
    // The stamp (now + 290 s) is outside the future window now.
    const far = await ping(flooder, fKey, Date.now() + 290_000);
    expect(far.status).toBe(401);
    expect((await far.json()).reason).toBe("future");

    const statuses = new Map<number, number>();
    let next = 0;
    const TOTAL = 50_001;
    const bOk: number[] = [];
    const worker = async () => {
      while (next < TOTAL) {
        next++;
        const r = await ping(flooder, fKey, Date.now() + 50_000);
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    // The honest peer keeps calling while the flood runs.
    let flooding = true;
    const honest = (async () => {
      while (flooding) {
        const r = await ping(b, bKey, Date.now());
        bOk.push(r.status);
        await r.arrayBuffer();
        await Bun.sleep(100);
      }
    })();
    await Promise.all(Array.from({ length: 32 }, worker));
    flooding = false;
    await honest;
    expect([...statuses.values()].reduce((x, y) => x + y, 0)).toBe(TOTAL);
    console.log(
      `flood: ${TOTAL} pings answered ${JSON.stringify(Object.fromEntries(statuses))}; the other peer's ${bOk.length} pings meanwhile: ${JSON.stringify(bOk.reduce<Record<number, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {}))}`,
    );
    expect(statuses.get(429) ?? 0).toBeGreaterThan(40_000); // past 400 in a burst and 200 a second
    expect(bOk.length).toBeGreaterThan(3);
    expect(bOk.every((s) => s === 200)).toBe(true);
    // After it, too: B's own requests and a whole sync round with A.
    expect((await ping(b, bKey, Date.now())).status).toBe(200);
    const s = await b.cli(["sync", "--json"]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).reached).toBe(1);
  }, 240_000);
});

describe("wrong logins in parallel", () => {
  let c: TestCell;
  beforeAll(async () => {
    c = await startCell({ config: { watch_home: false } });
    await dashboardSession(c, "the-owners-password");
  });
  afterAll(() => destroyCell(c));

  test("20 at once: at most 6 are checked, the rest refused at once with the wait; the owner from another address logs in meanwhile", async () => {
    const form = await loginForm(c);
    const head = `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nCookie: ${form.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n`;
    const t0 = performance.now();
    const wrong = await Promise.all(
      Array.from({ length: 20 }, (_, i) => requestFrom("127.0.0.1", c.port, head, `_csrf=${form.token}&password=guess-${i}`)),
    );
    const took = performance.now() - t0;
    const byStatus = new Map<number, number>();
    for (const r of wrong) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect((byStatus.get(401) ?? 0) + (byStatus.get(429) ?? 0) + (byStatus.get(503) ?? 0)).toBe(20);
    expect(byStatus.get(401) ?? 0).toBeLessThanOrEqual(6); // MAX_CHECKS + MAX_WAITING password checks at most
    const refusedNow = wrong.filter((r) => r.status !== 401);
    expect(refusedNow.length).toBeGreaterThanOrEqual(14);
    for (const r of refusedNow) {
      expect(r.headers).toMatch(/retry-after: \d+/i);
      expect(r.body).toMatch(/Wait \d+ s, then try again|checking other login attempts/);
    }
    console.log(`20 parallel wrong logins: ${JSON.stringify(Object.fromEntries(byStatus))} in ${took.toFixed(0)} ms`);
    expect(took).toBeLessThan(10_000);
    // The owner on another source address is not held up by them.
    const t1 = performance.now();
    const owner = await requestFrom("127.0.0.2", c.port, head, `_csrf=${form.token}&password=the-owners-password`);
    expect(owner.status).toBe(303);
    console.log(`the owner's login from another address meanwhile: ${(performance.now() - t1).toFixed(0)} ms`);
    expect(performance.now() - t1).toBeLessThan(5000);
    // 127.0.0.1 itself now has to wait, and the page says how long (and counts it down).
    const again = await requestFrom("127.0.0.1", c.port, head, `_csrf=${form.token}&password=the-owners-password`);
    expect(again.status).toBe(429);
    expect(again.body).toMatch(/data-wait="\d+"/);
  });
});

describe("stored files are not active content", () => {
  let c: TestCell;
  beforeAll(async () => {
    c = await startCell({ config: { watch_home: false } });
  });
  afterAll(() => destroyCell(c));

  test("an .html or .svg file is an attachment; safe previews inline; every answer nosniff and sandboxed", async () => {
    const files: Record<string, string> = {
      "evil.html": "<script>fetch('/api/status')</script>",
      "evil.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      "evil.xml": "<x/>",
      "notes.txt": "plain text",
      "pic.png": "\x89PNG\r\n\x1a\n",
    };
    for (const [name, body] of Object.entries(files)) expect((await c.api(`/api/files/${name}`, { method: "PUT", body })).status).toBe(201);
    for (const name of Object.keys(files)) {
      const r = await c.api(`/api/files/${name}`);
      await r.arrayBuffer();
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("content-security-policy")).toContain("sandbox");
      const inline = name === "notes.txt" || name === "pic.png";
      expect(`${name} ${r.headers.get("content-disposition")!.split(";")[0]}`).toBe(`${name} ${inline ? "inline" : "attachment"}`);
    }
    const txt = await c.api("/api/files/notes.txt?download");
    expect(txt.headers.get("content-disposition")).toStartWith("attachment");
  });
});
