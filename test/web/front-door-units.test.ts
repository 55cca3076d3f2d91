/** The Front door's small parts, in process: Host names, the login throttle, the per-peer rate, bounded reads, body limits. */
import { describe, expect, test } from "bun:test";
import { CellNames, hostOf } from "../../src/web/host-check.ts";
import { FREE_FAILURES, LoginThrottle, MAX_CHECKS, MAX_WAITING, MAX_WAIT_S } from "../../src/web/login-throttle.ts";
import { PeerRate } from "../../src/web/peer-rate.ts";
import { readAtMost } from "../../src/core/bounded-read.ts";
import { AUTH_FORM_MAX, DEFAULT_BODY_MAX, limitFor } from "../../src/web/body-limit.ts";
import { normalizeCode, newSetupCode } from "../../src/web/setup-code.ts";
import { userContentHeaders } from "../../src/web/user-content.ts";
import { servedInline, typeOfName } from "../../src/core/media-type.ts";

describe("Host names of the cell", () => {
  test("loopback names and this machine's addresses pass; any other name, a rebinding one, is refused", () => {
    const names = new CellNames(
      () => ["grove.home.arpa"],
      () => "127.0.0.1",
    );
    for (const h of [
      "localhost:5678",
      "LOCALHOST",
      "127.0.0.1:5678",
      "127.1.2.3",
      "[::1]:5678",
      "::1",
      "grove.home.arpa:5678",
      "grove.home.arpa.",
    ])
      expect(`${h} ${names.accepts(h)}`).toBe(`${h} true`);
    for (const h of [
      undefined,
      "",
      "x.attacker.test:5678",
      "127.0.0.1.attacker.test",
      "127.attacker.test",
      "localhost.attacker.test",
      "[::1].evil",
      "grove.home.arpa.evil",
      "8.8.8.8",
    ]) {
      expect(`${h} ${names.accepts(h)}`).toBe(`${h} false`);
    }
    expect(hostOf("[::1]:80")).toBe("::1");
    expect(hostOf("Example.COM.:443")).toBe("example.com");
    // The host the dashboard is bound to (a LAN name set with --host) is its own name too.
    expect(
      new CellNames(
        () => [],
        () => "nas.lan",
      ).accepts("nas.lan:5678"),
    ).toBe(true);
  });
});

describe("login throttle", () => {
  test("free tries, then a doubling wait per address; a success clears it; another address is not held up", () => {
    let now = 0;
    const t = new LoginThrottle(() => now);
    for (let i = 0; i < FREE_FAILURES; i++) {
      expect(t.waitFor("1.1.1.1")).toBe(0);
      t.failed("1.1.1.1");
    }
    expect(t.waitFor("1.1.1.1")).toBe(1);
    t.failed("1.1.1.1");
    expect(t.waitFor("1.1.1.1")).toBe(2);
    for (let i = 0; i < 20; i++) t.failed("1.1.1.1");
    expect(t.waitFor("1.1.1.1")).toBe(MAX_WAIT_S);
    expect(t.waitFor("2.2.2.2")).toBe(0);
    now += MAX_WAIT_S * 1000;
    expect(t.waitFor("1.1.1.1")).toBe(0);
    t.succeeded("1.1.1.1");
    t.failed("1.1.1.1");
    expect(t.waitFor("1.1.1.1")).toBe(0);
  });

  test("at most MAX_CHECKS run and MAX_WAITING wait; more are busy at once; slots pass on", async () => {
    const t = new LoginThrottle();
    const gates = await Promise.all(Array.from({ length: MAX_CHECKS }, (_, i) => t.enter(`10.0.0.${i}`)));
    expect(gates.every((g) => g.ok)).toBe(true);
    const waiting = Array.from({ length: MAX_WAITING }, (_, i) => t.enter(`10.0.1.${i}`));
    expect(t.load).toEqual({ running: MAX_CHECKS, waiting: MAX_WAITING });
    const busy = await t.enter("10.0.2.1");
    expect(busy).toEqual({ ok: false, reason: "busy", waitS: 2 });
    for (const g of gates) if (g.ok) g.release();
    // Each waiter gets a slot as one is released (and releases it in turn).
    const next = await Promise.all(
      waiting.map(async (w) => {
        const g = await w;
        if (g.ok) g.release();
        return g.ok;
      }),
    );
    expect(next.every(Boolean)).toBe(true);
    expect(t.load).toEqual({ running: 0, waiting: 0 });
  });
});

describe("per-peer rate", () => {
  test("a burst, then the rate; one peer's flood leaves another's budget whole", () => {
    let now = 0;
    const r = new PeerRate(10, 20, () => now);
    for (let i = 0; i < 20; i++) expect(r.take("flooder")).toBe(0);
    expect(r.take("flooder")).toBe(1);
    expect(r.take("honest")).toBe(0);
    now += 500; // half a second: 5 more
    for (let i = 0; i < 5; i++) expect(r.take("flooder")).toBe(0);
    expect(r.take("flooder")).toBeGreaterThan(0);
  });
});

describe("bounded reads and body limits", () => {
  const stream = (pieces: number, size: number) => {
    let n = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ >= pieces) return c.close();
        c.enqueue(new Uint8Array(size).fill(n));
      },
    });
  };
  test("readAtMost returns the bytes up to the limit, null past it (and stops reading)", async () => {
    expect((await readAtMost(stream(4, 10), 40))!.byteLength).toBe(40);
    expect(await readAtMost(stream(5, 10), 40)).toBeNull();
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1024));
      },
    });
    expect(await readAtMost(endless, 4096)).toBeNull();
    expect(pulled).toBeLessThan(10);
    expect(await readAtMost(null, 1)).toEqual(new Uint8Array(0));
  });
  test("every route has a limit but the streamed uploads and /peer", () => {
    expect(limitFor("POST", "/login")).toBe(AUTH_FORM_MAX);
    expect(limitFor("POST", "/setup")).toBe(AUTH_FORM_MAX);
    expect(limitFor("POST", "/api/invites")).toBe(DEFAULT_BODY_MAX);
    expect(limitFor("POST", "/files/delete")).toBe(DEFAULT_BODY_MAX);
    expect(limitFor("PUT", "/api/files/a.bin")).toBeNull();
    expect(limitFor("POST", "/api/files/a.bin")).toBe(DEFAULT_BODY_MAX);
    expect(limitFor("PUT", "/peer/sync/chunks/x")).toBeNull();
  });
});

describe("setup codes and user content", () => {
  test("a code is 80 bits in four groups, and is typed loosely", () => {
    const c = newSetupCode();
    expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(normalizeCode(c.toLowerCase().replace(/-/g, " "))).toBe(normalizeCode(c));
    expect(normalizeCode("o0-iI-lL")).toBe("001111");
  });
  test("only types that cannot run script are inline", () => {
    for (const n of ["a.html", "a.htm", "a.svg", "a.xml", "a.js", "a.xhtml", "a.bin", "noext"])
      expect(`${n} ${servedInline(typeOfName(n))}`).toBe(`${n} false`);
    for (const n of ["a.png", "a.jpg", "a.mp4", "a.pdf", "a.txt", "a.webm"])
      expect(`${n} ${servedInline(typeOfName(n))}`).toBe(`${n} true`);
    const h = userContentHeaders('we"ird\r\nname.html');
    expect(h["Content-Disposition"]).toStartWith('attachment; filename="we_ird__name.html"');
    expect(h["X-Content-Type-Options"]).toBe("nosniff");
  });
});
