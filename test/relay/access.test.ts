/**
 * A relay serves only the cells its operator allows (relay/access, relay/hub). The attack: two
 * colluding strangers (real keys, real WebSocket clients) try to reserve and open a circuit
 * between them through someone's relay, to move their traffic on its bandwidth. Against a real
 * `grove relay` with an allow list and against a relay run inside a real cell (config
 * `relay_port`) they are refused, while the allowed cells pair, replicate and stay served end to
 * end; a stranger let in to pair (a cell on the relay has a live invite) reaches no other
 * stranger and sends only small frames. `grove relay` will not start without saying who may use
 * it; `--open` serves strangers under stricter limits; accept floods are cut; /status names no
 * cell. In process: re-checks close a cell no longer allowed and promote a guest once allowed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, ROOT, cliJson, destroyCell, freePort, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { Client, newKeys, startRelay, tokenFile, type Keys } from "../helpers/relay.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { DEFAULT_LIMITS, OPEN_LIMITS, startRelay as startHub, type RelayStatus } from "../../src/relay/hub.ts";
import { makeLogin, provesToken } from "../../src/relay/relay-protocol.ts";
import { normalizeRelayUrl, relayAccessToken } from "../../src/net/route-class.ts";

const root = tempRoot("grove-relay-access-");
const clients: Client[] = [];
const connect = async (...a: Parameters<typeof Client.connect>) => {
  const c = await Client.connect(...a);
  clients.push(c);
  return c;
};
const statusOf = async (hostPort: string) => (await fetch(`http://${hostPort}/status`)).json() as Promise<RelayStatus>;
const relayState = async (c: TestCell) => (await cliJson<{ relays: { state: string; error: string | null }[] }>(c, ["status"])).relays[0];
async function untilReady(...cs: TestCell[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const states = await Promise.all(cs.map(relayState));
    if (states.every((s) => s?.state === "ready")) return;
    await Bun.sleep(100);
  }
  throw new Error(`relay not ready: ${JSON.stringify(await Promise.all(cs.map(relayState)))}`);
}
/** No cell id, and no id's first 8 characters, anywhere in a /status answer. */
function expectNoIds(st: RelayStatus, ids: string[]): void {
  const text = JSON.stringify(st);
  expect(text).not.toMatch(/[0-9a-f]{16}/);
  for (const id of ids) expect(text).not.toContain(id.slice(0, 8));
}
/** Two colluding strangers: each accepts the other, and each sends the other a frame if it gets in. */
async function colluders(hostPort: string): Promise<[Client, Client, Keys, Keys]> {
  const [k1, k2] = [newKeys(), newKeys()];
  const s1 = await connect(hostPort, k1, [k2.id]);
  const s2 = await connect(hostPort, k2, [k1.id]);
  if (s1.state === "ready") s1.send(k2.id, new Uint8Array(1000));
  if (s2.state === "ready") s2.send(k1.id, new Uint8Array(1000));
  await Bun.sleep(200);
  return [s1, s2, k1, k2];
}

afterAll(() => {
  for (const c of clients) c.close();
  rmSync(root, { recursive: true, force: true });
});

describe("grove relay asks who may use it", () => {
  test("without --allow, --allow-file, --token-file or --open it does not start, and says what to pass", async () => {
    const run = async (args: string[]) => {
      const p = Bun.spawn([BUN, CLI, "relay", "--port", "0", "--host", "127.0.0.1", ...args], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, text: out + err };
    };
    const none = await run([]);
    expect(none.code).toBe(2);
    for (const flag of ["--allow CELL_ID", "--allow-file", "--token-file", "--open"]) expect(none.text).toContain(flag);
    const both = await run(["--open", "--allow", "a".repeat(64)]);
    expect(both.code).toBe(2);
    expect(both.text).toContain("--open lets any cell in");
    const bad = await run(["--allow", "not-an-id"]);
    expect(bad.code).toBe(2);
    expect(bad.text).toContain("not a cell id");
    const help = await run(["--help"]);
    expect(help.text).toContain("A relay serves only the cells you allow");
  });
});

describe("access tokens", () => {
  test("a token in a relay URL is checked and left out of the normalised URL (cards, routes, logs); the proof binds nonce and cell", () => {
    const token = "t".repeat(43);
    expect(relayAccessToken(`wss://relay.example:5680?token=${token}`)).toBe(token);
    expect(normalizeRelayUrl(`wss://relay.example:5680?token=${token}`)).toBe("wss://relay.example:5680/v1/relay");
    expect(relayAccessToken("ws://10.0.0.1:5680/v1/relay")).toBeNull();
    expect(() => normalizeRelayUrl("ws://10.0.0.1:5680?token=short")).toThrow("an access token is 22 to 128");
    expect(() => normalizeRelayUrl(`ws://10.0.0.1:5680?token=${"x".repeat(30)}%20`)).toThrow("access token");
    const [k, other] = [newKeys(), newKeys()];
    const login = makeLogin(k, "ab".repeat(16), [], Date.now(), false, token);
    expect(provesToken(login.access, token, "ab".repeat(16), k.id)).toBe(true);
    expect(provesToken(login.access, token, "cd".repeat(16), k.id)).toBe(false); // another challenge
    expect(provesToken(login.access, token, "ab".repeat(16), other.id)).toBe(false); // another cell
    expect(provesToken(login.access, "u".repeat(43), "ab".repeat(16), k.id)).toBe(false);
    expect(provesToken(undefined, token, "ab".repeat(16), k.id)).toBe(false);
    expect(JSON.stringify(login)).not.toContain(token);
  });
});

describe("grove relay lists", () => {
  test("--allow-file is read again while the relay runs; a missing --token-file is made with a token that admits", async () => {
    const dir = join(root, "lists");
    mkdirSync(dir);
    const allowFile = join(dir, "allowed.txt");
    const tokens = join(dir, "relay.token");
    writeFileSync(allowFile, "# no cell yet\n");
    const relay = await startRelay(["--allow-file", allowFile, "--token-file", tokens]);
    try {
      expect(relay.out()).toContain("lists no cell yet");
      expect(relay.out()).toContain(`Made ${tokens} with a new access token`);
      expect(statSync(tokens).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokens, "utf8")
        .split("\n")
        .find((l) => l && !l.startsWith("#"))!;
      const k = newKeys();
      expect((await connect(relay.url, k, [])).state).toBe("refused");
      writeFileSync(allowFile, `# the operator's cells\n${k.id.toUpperCase()}  # laptop\n`);
      await Bun.sleep(2200); // files are checked for changes at most every 2 s
      expect((await connect(relay.url, k, [])).state).toBe("ready");
      const t = newKeys();
      expect((await connect(relay.url, t, [], t, false, token)).state).toBe("ready");
    } finally {
      relay.proc.kill("SIGTERM");
      await relay.proc.exited;
    }
  });
});

describe("a grove relay with an allow list", () => {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let a: TestCell, b: TestCell;
  let idA = "",
    idB = "";
  let relayUrl = "";

  beforeAll(async () => {
    const port = freePort();
    relayUrl = `ws://127.0.0.1:${port}`;
    // Relay routes only: everything between A and B goes through the relay.
    const cfg = { replication_factor: 2, sync_interval_s: 3600, relays: [relayUrl], advertise: [relayUrl] };
    [a, b] = await Promise.all([
      startCell({ root: join(root, "a"), config: { ...cfg, name: "allow-a" } }),
      startCell({ root: join(root, "b"), config: { ...cfg, name: "allow-b" } }),
    ]);
    [idA, idB] = await Promise.all([a, b].map(async (c) => (await c.cli(["id"])).stdout.trim()));
    // The cells' ids, given the default way: --allow, once per cell.
    relay = await startRelay(["--port", String(port), "--allow", idA, "--allow", idB]);
    await untilReady(a, b);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([destroyCell(a), destroyCell(b)]);
    relay?.proc.kill("SIGTERM");
    await relay?.proc.exited;
  }, 60_000);

  test("two colluding strangers can neither reserve nor open a circuit; the refusal says why", async () => {
    const [s1, s2] = await colluders(relay.url);
    for (const s of [s1, s2]) {
      expect(s.state).toBe("refused");
      expect(s.texts[0]!.reason).toContain("serves only the cells its operator allows");
      expect(s.texts[0]!.reason).toContain("allow-list");
      expect(s.frames).toEqual([]);
    }
    // A made-up access token does not help.
    const k = newKeys();
    const guessed = await connect(relay.url, k, [], k, false, "x".repeat(43));
    expect(guessed.state).toBe("refused");
    expect(guessed.texts[0]!.reason).toContain("access token");
    const st = await statusOf(relay.url);
    expect(st.refused.not_allowed).toBeGreaterThanOrEqual(3);
    expect(st.cells).toBe(2); // A and B only
    expect(st.bytes_relayed).toBe(0);
    expect(relay.out()).toContain("relay refused: this relay serves only the cells its operator allows");
  });

  test("while A has a live invite, strangers get in only to pair: small frames to A, nothing to each other", async () => {
    const token = (await a.cli(["invite"])).stdout.trim();
    expect(token).toStartWith("grove1.");
    const [k1, k2] = [newKeys(), newKeys()];
    // Each names A (the cell it claims to join) and the other stranger.
    let g1: Client | null = null;
    for (let i = 0; i < 50 && g1?.state !== "ready"; i++) {
      g1 = await connect(relay.url, k1, [idA, k2.id]);
      if (g1.state !== "ready") await Bun.sleep(100); // A's accept (open) may still be on its way
    }
    const g2 = await connect(relay.url, k2, [idA, k1.id]);
    expect([g1!.state, g2.state]).toEqual(["ready", "ready"]);
    expect(g1!.ready?.guest).toBe(true);
    // One naming nobody on the relay is refused.
    const k3 = newKeys();
    expect((await connect(relay.url, k3, [k1.id])).state).toBe("refused");
    g1!.send(k2.id, new Uint8Array(1000));
    g1!.send(idA, new Uint8Array(100_000)); // more than a join needs
    g1!.send(idB, new Uint8Array(1000)); // a cell it does not name
    await g1!.until(() => g1!.texts.filter((t) => t.type === "error").length >= 3);
    const reasons = g1!.texts.filter((t) => t.type === "error").map((t) => t.reason ?? "");
    expect(reasons[0]).toContain("cannot reach one another");
    expect(reasons[1]).toContain(`at most ${64 * 1024} bytes`);
    expect(reasons[2]).toContain("reaches only the cells it names");
    expect(g2.frames).toEqual([]);
    const st = await statusOf(relay.url);
    expect(st.guests).toBe(2);
    expect(st.refused.guest).toBe(3);

    // B (allowed) joins A through the relay; A's invite is spent, and the strangers are closed.
    const j = await b.cli(["join", token]);
    expect(j.stderr).toBe("");
    expect(j.code).toBe(0);
    await g1!.until(() => g1!.closed !== null && g2.closed !== null, 10_000);
    expect(g1!.texts.at(-1)?.reason).toContain("no cell this one names has a live invite");
    expect(g2.closed).not.toBeNull();
    expect((await statusOf(relay.url)).guests).toBe(0);
  });

  test("the allowed cells replicate through the relay, end to end", async () => {
    const peers = await cliJson<{ id: string; best_route: string }[]>(a, ["peers", "--probe"]);
    expect(peers).toEqual([expect.objectContaining({ id: idB, best_route: `${relayUrl}/v1/relay` })]);
    const src = join(root, "file.bin");
    writeFileSync(src, pseudoRandom(1_500_000, 31));
    expect((await a.cli(["put", src, "--as", "file.bin"])).code).toBe(0);
    const s = await cliJson<{ chunks_pushed: number; errors: string[] }>(a, ["sync"]);
    expect(s.errors).toEqual([]);
    expect(s.chunks_pushed).toBe(1);
    const st = await statusOf(relay.url);
    expect(st.bytes_relayed).toBeGreaterThan(1_500_000);
    expect(st.cells).toBe(2);
    expectNoIds(st, [idA, idB]);
  });

  test("an accept flood from an allowed cell (by access token) is rate limited with a reason, then cut", async () => {
    // A stranger cannot even send one here; an allowed cell that floods is cut on a relay of its own.
    const k = newKeys();
    expect((await connect(relay.url, k, [])).state).toBe("refused");
    const dir = join(root, "flood");
    mkdirSync(dir);
    const t = tokenFile(dir);
    const r2 = await startRelay(["--token-file", t.path]);
    try {
      const c = await connect(r2.url, k, [], k, false, t.token);
      expect(c.state).toBe("ready");
      for (let i = 0; i < 80 && c.closed === null; i++) c.ws.send(JSON.stringify({ type: "accept", accept: [newKeys().id] }));
      await c.until(() => c.closed !== null, 5000);
      const accepted = c.texts.filter((m) => m.type === "accepted").length;
      const limited = c.texts.filter((m) => m.reason?.includes("accept messages a minute: ignored"));
      expect(accepted).toBeLessThanOrEqual(11);
      expect(limited.length).toBeGreaterThan(40);
      expect(c.closed?.code).toBe(1008);
      expect(c.closed?.reason).toContain("accept messages a minute, repeatedly");
      expect((await statusOf(r2.url)).refused.accept_rate).toBeGreaterThan(40);
      // The relay goes on: a fresh login works.
      expect((await connect(r2.url, newKeys(), [], undefined, false, t.token)).state).toBe("ready");
    } finally {
      r2.proc.kill("SIGTERM");
      await r2.proc.exited;
    }
    expect((await relayState(a))?.state).toBe("ready");
  });
});

describe("a relay run inside a cell (relay_port) serves its fleet", () => {
  let r: TestCell, c: TestCell;
  let idR = "",
    idC = "";
  let hostPort = "";

  beforeAll(async () => {
    const port = freePort();
    hostPort = `127.0.0.1:${port}`;
    const url = `ws://${hostPort}`;
    const cfg = { replication_factor: 2, sync_interval_s: 3600, relays: [url], advertise: [url] };
    // R runs the relay and holds a reservation on it; C (not yet R's peer) is refused until it pairs.
    [r, c] = await Promise.all([
      startCell({ root: join(root, "r"), config: { ...cfg, name: "relay-r", relay_port: port } }),
      startCell({ root: join(root, "c"), config: { ...cfg, name: "cell-c" } }),
    ]);
    [idR, idC] = await Promise.all([r, c].map(async (x) => (await x.cli(["id"])).stdout.trim()));
    await untilReady(r);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([destroyCell(r), destroyCell(c)]);
  }, 60_000);

  test("a cell that is not its peer is refused; with an invite it pairs through the relay, then replicates through it", async () => {
    for (let i = 0; i < 200 && !(await relayState(c))?.error?.includes("serves only"); i++) await Bun.sleep(100);
    expect((await relayState(c))?.error).toContain("serves only the cells its operator allows");
    const token = (await r.cli(["invite"])).stdout.trim();
    const j = await c.cli(["join", token]);
    expect(j.stderr).toBe("");
    expect(j.code).toBe(0);
    await untilReady(c);
    const src = join(root, "c-file.bin");
    writeFileSync(src, pseudoRandom(1_200_000, 32));
    expect((await c.cli(["put", src, "--as", "c-file.bin"])).code).toBe(0);
    const s = await cliJson<{ chunks_pushed: number; errors: string[] }>(c, ["sync"]);
    expect(s.errors).toEqual([]);
    expect(s.chunks_pushed).toBe(1);
    const st = await statusOf(hostPort);
    expect(st.bytes_relayed).toBeGreaterThan(1_200_000);
    expect(st.guests).toBe(0); // C is a peer now: a member
    // C paired as a guest (R's invite was live), and was let in as a member once R's peer.
    expect(r.output()).toContain("relay: a cell not on the allow-list logged in to pair (guest)");
    expect(r.output()).toContain("relay: a cell that joined through the relay is allowed now");
  });

  test("two colluding strangers can neither reserve nor open a circuit; /status names no cell", async () => {
    const [s1, s2] = await colluders(hostPort);
    for (const s of [s1, s2]) {
      expect(s.state).toBe("refused");
      expect(s.texts[0]!.reason).toContain("serves only the cells its operator allows");
      expect(s.frames).toEqual([]);
    }
    const st = await statusOf(hostPort);
    expect(st.refused.not_allowed).toBeGreaterThanOrEqual(2);
    expect(st.cells).toBe(2); // R and C
    expect(st.open).toBe(false);
    expectNoIds(st, [idR, idC]);
    expect(r.output()).toContain("relay refused: this relay serves only the cells its operator allows");
  });
});

describe("grove relay --open", () => {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  beforeAll(async () => {
    relay = await startRelay(["--open"]);
  }, 30_000);
  afterAll(async () => {
    relay?.proc.kill("SIGTERM");
    await relay?.proc.exited;
  });

  test("serves strangers, under the stricter limits, and warns that it is open", async () => {
    expect(relay.out()).toContain("Warning: this relay is open");
    const st = await statusOf(relay.url);
    expect(st.open).toBe(true);
    expect(st.limits).toEqual(OPEN_LIMITS);
    expect(OPEN_LIMITS.circuit_bytes).toBeLessThan(DEFAULT_LIMITS.circuit_bytes);
    expect(OPEN_LIMITS.max_reservations).toBeLessThan(DEFAULT_LIMITS.max_reservations);
    expect(OPEN_LIMITS.frames_per_second).toBeLessThan(DEFAULT_LIMITS.frames_per_second);
    const [s1, s2, k1, k2] = await colluders(relay.url);
    expect([s1.state, s2.state]).toEqual(["ready", "ready"]);
    await s1.until(() => s1.frames.length === 1 && s2.frames.length === 1);
    expect(s2.frames[0]!.payload.byteLength).toBe(1000);
    // Two reservations per cell, eight connections per IP.
    expect((await connect(relay.url, k2, [])).state).toBe("ready");
    const third = await connect(relay.url, k2, []);
    expect(third.texts[0]?.reason).toContain(`already holds ${OPEN_LIMITS.max_per_cell}`);
    const more: Client[] = [];
    for (let i = 0; i < 8; i++) more.push(await connect(relay.url, newKeys(), []));
    expect(more.at(-1)!.texts[0]?.reason).toContain(`too many connections from 127.0.0.1 (${OPEN_LIMITS.max_per_ip})`);
    expectNoIds(await statusOf(relay.url), [k1.id, k2.id]);
  });
});

describe("the hub checks again (in process)", () => {
  test("a cell no longer allowed is closed; a guest is promoted once allowed, then sends large frames", async () => {
    const [m, g, x] = [newKeys(), newKeys(), newKeys()];
    const allowed = new Set([m.id, x.id]);
    const hub = startHub({ host: "127.0.0.1", port: 0, allow: (id) => allowed.has(id), recheckMs: 200 });
    const at = `127.0.0.1:${hub.server.port}`;
    try {
      const cm = await connect(at, m, [g.id], m, true); // M has a live invite and accepts G
      const cx = await connect(at, x, []);
      const cg = await connect(at, g, [m.id]);
      expect([cm.state, cx.state, cg.state]).toEqual(["ready", "ready", "ready"]);
      expect(cg.ready?.guest).toBe(true);
      cg.send(m.id, new Uint8Array(200_000));
      await cg.until(() => cg.texts.some((t) => t.type === "error"));
      expect(cg.texts[0]?.reason).toContain("at most");
      allowed.add(g.id); // G paired: the operator allows it now
      await Bun.sleep(1100);
      cg.send(m.id, new Uint8Array(200_000));
      await cm.until(() => cm.frames.length === 1);
      expect(cm.frames[0]!.payload.byteLength).toBe(200_000);
      expect(hub.status().guests).toBe(0);
      allowed.delete(x.id); // X removed from the fleet
      await cx.until(() => cx.closed !== null, 3000);
      expect(cx.texts.at(-1)?.reason).toContain("no longer allowed");
      expect(hub.status().refused.no_longer_allowed).toBe(1);
    } finally {
      hub.stop();
    }
  });
});
