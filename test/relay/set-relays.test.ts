/**
 * Config `relays` changed while the cell runs (relay/relay-client `setRelays`), on a real hub in
 * process (loopback) that admits B by id and anyone proving its current access token. A relay
 * opened only to reach a peer becomes kept when it is added (the same connection); removed, its
 * call in flight fails at once saying why and it is gone from the status, while a call still
 * opens it on demand; a new token in config logs in again with it (the relay refused the old one).
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { deriveIdentity, type CellKeys } from "../../src/crypto/keys.ts";
import { portableSuite } from "../../src/crypto/index.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import { startRelay } from "../../src/relay/hub.ts";
import { RelayClient, type RelayState } from "../../src/relay/relay-client.ts";
import type { PeerRequest } from "../../src/net/peer-client.ts";

const keysOf = (): CellKeys => {
  const root = new Uint8Array(randomBytes(32));
  const id = deriveIdentity(root);
  return { ...id, root, id: toHex(id.ed25519Public) as CellId, apiToken: "x" };
};
const [a, b] = [keysOf(), keysOf()];
const byId = new Set<string>([a.id, b.id]);
let token = "first-token-0123456789";
const hub = startRelay({
  host: "127.0.0.1",
  port: 0,
  allow: (id, proves) => byId.has(id) || proves(token),
  recheckMs: 200,
});
const url = `ws://127.0.0.1:${hub.server.port}`;
const route = `${url}/v1/relay`;
const client = (me: CellKeys, other: CellKeys, relays: string[], serve: (req: Request) => Promise<Response>) =>
  new RelayClient({
    keys: me,
    suite: portableSuite,
    relays,
    accept: () => ({ ids: [other.id], open: false }),
    peerX25519: (id) => (id === other.id ? other.x25519Public : null),
    serve,
  });
// B answers at once, except /peer/hang, which it never answers.
const cb = client(b, a, [url], async (req) =>
  new URL(req.url).pathname === "/peer/hang" ? new Promise<Response>(() => {}) : Response.json({ ok: true }),
);
const ca = client(a, b, [], async () => Response.json({}));
afterAll(() => {
  ca.stop();
  cb.stop();
  hub.stop();
});

const req = (path: string): PeerRequest => ({ method: "POST", path, headers: { "X-Grove-Cell": a.id }, body: null });
const ping = () => ca.call(route, b.id, req("/peer/ping"), 10_000);
async function untilState(c: RelayClient, pred: (s: RelayState[]) => boolean, what: string): Promise<RelayState[]> {
  for (let i = 0; i < 100; i++) {
    if (pred(c.status())) return c.status();
    await Bun.sleep(50);
  }
  throw new Error(`${what}: ${JSON.stringify(c.status())}`);
}
const ready = (s: RelayState[]) => s.length === 1 && s[0]!.state === "ready";

test("a relay opened to reach a peer, then added to config, is kept on the same connection", async () => {
  await untilState(cb, ready, "B on the relay");
  expect(ca.status()).toEqual([]);
  expect((await ping()).status).toBe(200);
  expect(ca.status()).toEqual([expect.objectContaining({ url: route, state: "ready", configured: false, calls_out: 1 })]);
  ca.setRelays([url]);
  // Not reopened: the same reservation, now configured (its count of calls goes on).
  expect(ca.status()).toEqual([expect.objectContaining({ url: route, state: "ready", configured: true, calls_out: 1 })]);
  ca.setRelays([url]); // the same list again changes nothing
  expect(ca.status()).toEqual([expect.objectContaining({ state: "ready", configured: true, calls_out: 1 })]);
});

test("a relay removed from config: its call in flight fails at once saying so, it is forgotten, and a call opens it again on demand", async () => {
  const hanging = ca.call(route, b.id, req("/peer/hang"), 30_000);
  await Bun.sleep(200); // sent, and waiting for B's answer
  const t0 = performance.now();
  ca.setRelays([]);
  await expect(hanging).rejects.toThrow("the relay was removed from config `relays`");
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(ca.status()).toEqual([]);
  // B's card may still name it: a call opens it as any peer's relay, not kept.
  expect((await ping()).status).toBe(200);
  expect(ca.status()).toEqual([expect.objectContaining({ url: route, state: "ready", configured: false, calls_out: 1 })]);
});

test("a new access token in config logs in again with it; the token is never shown", async () => {
  byId.delete(a.id); // from here A gets in by its token alone
  ca.setRelays([`${url}?token=${token}`]);
  // Opened for B without a token, now configured with one: logged in again, with it.
  await untilState(ca, (s) => ready(s) && s[0]!.configured && s[0]!.calls_out === 0, "A back with its token");
  expect((await ping()).status).toBe(200);
  // The operator changes the token: the hub's re-check closes A's reservation, and A is refused.
  token = "second-token-9876543210";
  await untilState(ca, (s) => s[0]?.state !== "ready" && (s[0]?.error ?? "").startsWith("refused"), "A refused the old token");
  ca.setRelays([`${url}?token=${token}`]);
  const s = await untilState(ca, ready, "A in with the new token");
  expect(s[0]).toMatchObject({ url: route, configured: true, error: null });
  expect(JSON.stringify(s)).not.toContain("token");
  expect((await ping()).status).toBe(200);
});
