/**
 * `grove relay` as a real process on loopback, with simulated cells (real keys, real WebSocket
 * clients): login by signed challenge, frames passed on only to cells that accept the sender,
 * and every abuse limit refused with a reason while the relay and the other cells keep working.
 * These relays run `--open` (any cell may log in) with the limits each test needs; who may use
 * a relay at all is tested in access.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Client, newKeys, startRelay } from "../helpers/relay.ts";

let relay: Awaited<ReturnType<typeof startRelay>>;
const open: Client[] = [];
const connect = async (...a: Parameters<typeof Client.connect>) => {
  const c = await Client.connect(...a);
  open.push(c);
  return c;
};

beforeAll(async () => {
  relay = await startRelay([
    "--open",
    "--max-per-ip",
    "64",
    "--max-reservations",
    "8",
    "--max-per-cell",
    "2",
    "--max-frame-bytes",
    "100000",
    "--circuit-bytes",
    "300000",
    "--frames-per-second",
    "50",
  ]);
}, 30_000);

afterAll(async () => {
  for (const c of open) c.close();
  relay?.proc.kill("SIGTERM");
  await relay?.proc.exited;
});

const status = async () =>
  (await fetch(`http://${relay.url}/status`)).json() as Promise<{
    cells: number;
    bytes_relayed: number;
    frames_relayed: number;
    refused: Record<string, number>;
  }>;

describe("grove relay", () => {
  const x = newKeys();
  const y = newKeys();
  let cx: Client, cy: Client;

  test("two cells that accept each other exchange frames; the payload arrives as it was sent", async () => {
    cx = await connect(relay.url, x, [y.id]);
    cy = await connect(relay.url, y, [x.id]);
    expect(cx.state).toBe("ready");
    expect(cy.state).toBe("ready");
    const payload = new Uint8Array(randomBytes(50_000));
    cx.send(y.id, payload);
    await cy.until(() => cy.frames.length === 1);
    expect(cy.frames[0]!.from).toBe(x.id);
    expect(Buffer.compare(Buffer.from(cy.frames[0]!.payload), Buffer.from(payload))).toBe(0);
    const s = await status();
    expect(s.cells).toBe(2);
    expect(s.bytes_relayed).toBe(50_000);
  });

  test("a frame to a cell that does not accept the sender, or to an absent cell, is refused with a reason", async () => {
    const z = newKeys();
    const cz = await connect(relay.url, z, [y.id]);
    cz.send(y.id, new Uint8Array(10));
    cz.send(newKeys().id, new Uint8Array(10));
    await cz.until(() => cz.texts.length >= 2);
    expect(cz.texts[0]).toMatchObject({ type: "error", to: y.id });
    expect(cz.texts[0]!.reason).toContain("does not accept");
    expect(cz.texts[1]!.type).toBe("undeliverable");
    expect(cy.frames.length).toBe(1); // nothing reached y
    // Once y accepts z (its fleet changed), z's frames get through.
    cy.ws.send(JSON.stringify({ type: "accept", accept: [x.id, z.id] }));
    await cy.until(() => cy.texts.some((t) => t.type === "accepted"));
    cz.send(y.id, new Uint8Array([9]));
    await cy.until(() => cy.frames.length === 2);
    expect(cy.frames[1]!.from).toBe(z.id);
    cy.frames.pop();
    cy.ws.send("not json");
    await cy.until(() => cy.texts.some((t) => t.reason?.includes("must be JSON")));
    expect(cy.texts.some((t) => t.reason?.includes("must be JSON"))).toBe(true);
  });

  test("an open cell (a live invite) takes small frames from strangers, not large ones, until it closes", async () => {
    const z = newKeys();
    const stranger = newKeys();
    const cz = await connect(relay.url, z, [], z, true);
    const cs = await connect(relay.url, stranger, []);
    cs.send(z.id, new Uint8Array(1000)); // a join request is a few KB
    await cz.until(() => cz.frames.length === 1);
    expect(cz.frames[0]!.from).toBe(stranger.id);
    cs.send(z.id, new Uint8Array(70_000)); // over OPEN_FRAME_BYTES: only for accepted senders
    await cs.until(() => cs.texts.some((t) => t.to === z.id));
    expect(cs.texts.find((t) => t.to === z.id)?.reason).toContain("does not accept");
    cz.ws.send(JSON.stringify({ type: "accept", accept: [], open: false }));
    await cz.until(() => cz.texts.some((t) => t.type === "accepted"));
    cs.send(z.id, new Uint8Array(1000));
    await cs.until(() => cs.texts.filter((t) => t.to === z.id).length === 2);
    expect(cz.frames.length).toBe(1);
    cz.close();
    cs.close();
  });

  test("a forged login and a cell off the allow-list are refused", async () => {
    const forged = await Client.connect(relay.url, newKeys(), [], newKeys());
    expect(forged.state).toBe("refused");
    expect(forged.texts[0]!.reason).toContain("signature");
    const allowed = newKeys();
    const strict = await startRelay(["--allow", allowed.id]);
    try {
      const ok = await Client.connect(strict.url, allowed, []);
      expect(ok.state).toBe("ready");
      ok.close();
      const stranger = await Client.connect(strict.url, newKeys(), []);
      expect(stranger.state).toBe("refused");
      expect(stranger.texts[0]!.reason).toContain("allow-list");
    } finally {
      strict.proc.kill("SIGTERM");
      await strict.proc.exited;
    }
  });

  test("an oversized frame closes that connection with a reason; the others keep working", async () => {
    const big = newKeys();
    const cb = await connect(relay.url, big, [y.id]);
    cb.send(y.id, new Uint8Array(100_001));
    await cb.until(() => cb.closed !== null);
    expect(cb.closed!.code).toBe(1009);
    expect(cb.closed!.reason).toContain("frame over 100000 bytes");
    cx.send(y.id, new Uint8Array([1, 2, 3]));
    await cy.until(() => cy.frames.length === 2);
    expect(cy.frames.length).toBe(2);
  });

  test("flooding is cut to the frame rate with a reason; the relay stays up", async () => {
    const f = newKeys();
    const cf = await connect(relay.url, f, []);
    const cy2frames = cy.frames.length;
    for (let i = 0; i < 400; i++) cf.send(y.id, new Uint8Array(1)); // y does not accept f either
    await cf.until(() => cf.texts.some((t) => t.reason?.includes("frames per second")) || cf.closed !== null);
    expect(cf.texts.some((t) => t.reason?.includes("frames per second"))).toBe(true);
    expect(cy.frames.length).toBe(cy2frames);
    expect((await status()).refused.rate).toBeGreaterThan(0);
    cx.send(y.id, new Uint8Array([4]));
    await cy.until(() => cy.frames.length === cy2frames + 1);
    expect(cy.frames.length).toBe(cy2frames + 1);
  });

  test("a circuit over its byte budget is refused; other circuits are not", async () => {
    const before = cy.frames.length;
    for (let i = 0; i < 4; i++) cx.send(y.id, new Uint8Array(90_000)); // 50,003 already sent + 360,000 > 300,000
    await cx.until(() => cx.texts.some((t) => t.reason?.includes("circuit limit")));
    expect(cx.texts.find((t) => t.reason?.includes("circuit limit"))).toMatchObject({ type: "error", to: y.id });
    await cy.until(() => cy.frames.length >= before + 2);
    expect(cy.frames.length).toBeLessThan(before + 4);
    cy.send(x.id, new Uint8Array(10)); // the other direction is its own circuit
    await cx.until(() => cx.frames.length === 1);
    expect(cx.frames.length).toBe(1);
  });

  test("too many reservations, per cell and in total, are refused with a reason", async () => {
    const again = await connect(relay.url, x, [y.id]); // x's second: allowed (2 per cell)
    expect(again.state).toBe("ready");
    const third = await Client.connect(relay.url, x, [y.id]);
    expect(third.state).toBe("refused");
    expect(third.texts[0]!.reason).toContain("already holds 2");
    const extra: Client[] = [];
    let full: Client | null = null;
    for (let i = 0; i < 10 && !full; i++) {
      const c = await Client.connect(relay.url, newKeys(), []);
      if (c.state === "refused") full = c;
      else extra.push(c);
    }
    expect(full!.texts[0]!.reason).toContain("relay is full");
    for (const c of extra) c.close();
    // The relay still answers, and x still reaches y.
    const s = await status();
    expect(s.refused.reservations_total).toBeGreaterThan(0);
    expect(s.refused.reservations_per_cell).toBe(1);
  });

  test("too many connections from one IP are refused before login", async () => {
    const tight = await startRelay(["--open", "--max-per-ip", "2"]);
    try {
      const [a, b] = [await Client.connect(tight.url, newKeys(), []), await Client.connect(tight.url, newKeys(), [])];
      const c = await Client.connect(tight.url, newKeys(), []);
      expect([a.state, b.state, c.state]).toEqual(["ready", "ready", "refused"]);
      expect(c.texts[0]!.reason).toContain("too many connections from 127.0.0.1");
      a.close();
      b.close();
    } finally {
      tight.proc.kill("SIGTERM");
      await tight.proc.exited;
    }
  });
});
