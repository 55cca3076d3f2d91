/**
 * An abandoned relay call (relay/relay-client `call` with an AbortSignal): two RelayClients on a
 * real hub (in process, loopback). B never answers. A's call of 5 MiB (five 1 MiB parts) is
 * aborted: it rejects at once with the reason, sends none of the parts left, and a later call
 * still works. What the hub carried is read from its per-cell counts (it runs with an operator).
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { portableSuite } from "../../src/crypto/index.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import { startRelay } from "../../src/relay/hub.ts";
import { RelayClient } from "../../src/relay/relay-client.ts";
import type { CellKeys } from "../../src/crypto/keys.ts";

const keysOf = (): CellKeys => {
  const root = new Uint8Array(randomBytes(32));
  const id = deriveIdentity(root);
  return { ...id, root, id: toHex(id.ed25519Public) as CellId, apiToken: "x" };
};
const [op, a, b] = [keysOf(), keysOf(), keysOf()];
const hub = startRelay({
  host: "127.0.0.1",
  port: 0,
  operator: op,
  allow: (id) => id === a.id || id === b.id,
  limits: { frames_per_second: 10_000 },
});
const url = `ws://127.0.0.1:${hub.server.port}`;
let answerB = false;
const client = (me: CellKeys, other: CellKeys, serve: (req: Request) => Promise<Response>) =>
  new RelayClient({
    keys: me,
    suite: portableSuite,
    relays: [url],
    accept: () => ({ ids: [other.id], open: false }),
    peerX25519: (id) => (id === other.id ? other.x25519Public : null),
    serve,
  });
const ca = client(a, b, async () => new Response("{}"));
const cb = client(b, a, async () => {
  if (answerB) return Response.json({ ok: true });
  return new Promise<Response>(() => {}); // never answers
});
afterAll(() => {
  ca.stop();
  cb.stop();
  hub.stop();
});

test("an aborted call rejects at once, sends no more parts, and the client goes on", async () => {
  for (let i = 0; i < 100 && !(ca.status()[0]?.state === "ready" && cb.status()[0]?.state === "ready"); i++) await Bun.sleep(50);
  hub.takeCarried();
  const ctl = new AbortController();
  const body = new Uint8Array(5 * 1024 * 1024);
  const t0 = performance.now();
  const call = ca.call(
    `${url}/v1/relay`,
    b.id,
    { method: "PUT", path: "/peer/sync/chunks/x", headers: { "X-Grove-Cell": a.id }, body },
    60_000,
    ctl.signal,
  );
  ctl.abort(new Error("the round gave up on this peer"));
  await expect(call).rejects.toThrow("the round gave up on this peer");
  expect(performance.now() - t0).toBeLessThan(5000); // not the 60 s timeout
  await Bun.sleep(300);
  // At most the part already on its way when the abort came: not the five.
  expect(hub.takeCarried().get(a.id) ?? 0).toBeLessThan(2 * 1024 * 1024);

  answerB = true;
  const r = await ca.call(
    `${url}/v1/relay`,
    b.id,
    { method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": a.id }, body: null },
    10_000,
  );
  expect(r.status).toBe(200);
  // An already aborted signal: refused before anything is sent.
  await expect(
    ca.call(
      `${url}/v1/relay`,
      b.id,
      { method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": a.id }, body: null },
      10_000,
      AbortSignal.abort(new Error("too late")),
    ),
  ).rejects.toThrow("too late");
}, 30_000);
