/**
 * Two cells that cannot reach each other directly pair, replicate, share and message through one
 * real relay. As root (with iproute2): each cell runs in its own network namespace whose only
 * route leads to the relay's address; the namespaces, links and address are created here and
 * removed in afterAll. Otherwise: cells on loopback that advertise relay routes only.
 * The relay writes every frame it passes on to a capture file: none of it holds the plaintext.
 * The relay admits holders of its access token (`--token-file`; the cells' config `relays` has
 * `?token=`), which never shows in cards, routes or status. A stranger is refused at login; a
 * cell with the token flooding, sending an oversized frame and taking too many reservations is
 * refused while the two cells keep working.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, BUN, CLI, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { Client, newKeys, startRelay, tokenFile } from "../helpers/relay.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { ShareView } from "../../src/share/types.ts";

const canNetns = process.getuid?.() === 0 && Bun.which("ip") !== null;
const tag = (process.pid % 9000) + 1000;
const x = (process.pid % 200) + 20;
const RELAY_IP = `10.80.${x}.1`;
const cells = [
  { ns: `grove-rl-${process.pid}-a`, host: `grl${tag}a`, peer: `grm${tag}a`, hostIp: `10.81.${x}.1`, peerIp: `10.81.${x}.2` },
  { ns: `grove-rl-${process.pid}-b`, host: `grl${tag}b`, peer: `grm${tag}b`, hostIp: `10.82.${x}.1`, peerIp: `10.82.${x}.2` },
];
const PORT = 5678;

function sh(...args: string[]): { ok: boolean; err: string } {
  const p = Bun.spawnSync(args, { stderr: "pipe" });
  return { ok: p.exitCode === 0, err: p.stderr.toString().trim() };
}

/** Namespaces a and b, each with one veth link to this namespace and a route to RELAY_IP only. */
function makeNamespaces(): string | null {
  // The relay's address lives on this namespace's loopback (removed in afterAll).
  const steps: string[][] = [["ip", "addr", "add", `${RELAY_IP}/32`, "dev", "lo"]];
  for (const c of cells) {
    steps.push(
      ["ip", "netns", "add", c.ns],
      ["ip", "netns", "exec", c.ns, "ip", "link", "set", "lo", "up"],
      ["ip", "link", "add", c.host, "type", "veth", "peer", "name", c.peer],
      ["ip", "link", "set", c.peer, "netns", c.ns],
      ["ip", "addr", "add", `${c.hostIp}/24`, "dev", c.host],
      ["ip", "link", "set", c.host, "up"],
      ["ip", "netns", "exec", c.ns, "ip", "addr", "add", `${c.peerIp}/24`, "dev", c.peer],
      ["ip", "netns", "exec", c.ns, "ip", "link", "set", c.peer, "up"],
      // The relay's address and nothing else: no default route, so the other cell is unreachable.
      ["ip", "netns", "exec", c.ns, "ip", "route", "add", `${RELAY_IP}/32`, "via", c.hostIp],
    );
  }
  for (const s of steps) {
    const r = sh(...s);
    if (!r.ok) return `${s.join(" ")}: ${r.err}`;
  }
  return null;
}

function removeNamespaces(): void {
  for (const c of cells) {
    sh("ip", "netns", "del", c.ns);
    sh("ip", "link", "del", c.host);
  }
  sh("ip", "addr", "del", `${RELAY_IP}/32`, "dev", "lo");
}

let mode: "netns" | "loopback" = "loopback";
let relay: Awaited<ReturnType<typeof startRelay>>;
let relayUrl = "";
let a: TestCell, b: TestCell;
let idA = "",
  idB = "";
const root = tempRoot("grove-relay-");
const capture = join(root, "frames.bin");
const data = pseudoRandom(4 * 1024 * 1024 + 300_000, 11); // one full chunk (five tunnel parts) and a small one
const SECRET_PATH = "plans/secret-garden-7f3a9.bin";
const SECRET_TEXT = "meet me at the old oak 7f3a9";
const strangers: Client[] = [];
let base: Record<string, unknown> = {};
let access = { path: "", token: "" };

/** Start cell i (0 = a, 1 = b) in its namespace, or on loopback advertising the relay only; restarts reuse its folders. */
function start(i: number, name: string, extra: Record<string, unknown> = {}): Promise<TestCell> {
  return mode === "netns"
    ? startCell({
        root: join(root, name),
        cmd: ["ip", "netns", "exec", cells[i]!.ns, BUN, CLI],
        listen: { host: "0.0.0.0", port: PORT },
        config: { ...base, ...extra, name, advertise: [`http://${cells[i]!.peerIp}:${PORT}`] },
      })
    : startCell({ root: join(root, name), config: { ...base, ...extra, name, advertise: [relayUrl] } });
}

beforeAll(async () => {
  if (canNetns) {
    const err = makeNamespaces();
    if (err) {
      removeNamespaces();
      console.warn(`relay test: network namespaces unavailable (${err}); cells on loopback advertising relay routes only`);
    } else mode = "netns";
  }
  const host = mode === "netns" ? RELAY_IP : "127.0.0.1";
  access = tokenFile(root);
  relay = await startRelay(["--token-file", access.path, "--capture", capture, "--max-per-cell", "2"], [BUN, CLI], host);
  relayUrl = `ws://${relay.url}`;
  base = { replication_factor: 2, sync_interval_s: 3600, relays: [`${relayUrl}?token=${access.token}`] };
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(root, "relay-a"));
  mkdirSync(join(root, "relay-b"));
  [a, b] = await Promise.all([start(0, "relay-a"), start(1, "relay-b")]);
  idA = cellIdOf(a);
  idB = cellIdOf(b);
}, 120_000);

afterAll(async () => {
  for (const s of strangers) s.close();
  await Promise.all([destroyCell(a), destroyCell(b)]);
  relay?.proc.kill("SIGTERM");
  await relay?.proc.exited;
  if (mode === "netns") removeNamespaces();
  const { rmSync } = await import("node:fs");
  rmSync(root, { recursive: true, force: true });
}, 120_000);

type Status = { cells: number; bytes_relayed: number; frames_relayed: number; refused: Record<string, number> };
const status = async () => (await fetch(`http://${relay.url}/status`)).json() as Promise<Status>;

describe(`cells through a relay`, () => {
  test("they pair through the relay: the invite's direct route is tried and fails, the relay route works", async () => {
    console.log(`relay test mode: ${mode}`);
    const token = (await a.cli(["invite"])).stdout.trim();
    const join_ = await b.cli(["join", token]);
    expect(join_.stderr).toBe("");
    expect(join_.code).toBe(0);
    expect(join_.stdout).toContain("relay-a");
    // B's view of A: the relay route answers and is the one in use; in namespaces the direct
    // route is measured and unreachable.
    const peers = await cliJson<{ id: string; best_route: string; routes: { url: string; kind: string; reachable: boolean }[] }[]>(b, [
      "peers",
      "--probe",
    ]);
    expect(peers.map((p) => p.id)).toEqual([idA]);
    expect(peers[0]!.best_route).toBe(`${relayUrl}/v1/relay`);
    expect(peers[0]!.routes.find((r) => r.kind === "relay")?.reachable).toBe(true);
    if (mode === "netns") expect(peers[0]!.routes.find((r) => r.kind !== "relay")?.reachable).toBe(false);
    // `grove status` names the relay and its state.
    const st = await cliJson<{ relays: { url: string; state: string; calls_out: number; calls_in: number }[] }>(b, ["status"]);
    expect(st.relays).toEqual([expect.objectContaining({ url: `${relayUrl}/v1/relay`, state: "ready" })]);
    expect(st.relays[0]!.calls_out).toBeGreaterThan(0);
    expect((await b.cli(["status"])).stdout).toMatch(/relay\s+ws:\/\/\S+ {2}ready/);
    // The access token stays in the config: not in the card B keeps of A, its routes or its status.
    const shown = await cliJson<unknown>(b, ["peers"]);
    expect(JSON.stringify([shown, peers, st])).not.toContain(access.token);
  });

  test("A's file replicates to B through the relay (factor 2)", async () => {
    const src = join(root, "secret.bin");
    writeFileSync(src, data);
    expect((await a.cli(["put", src, "--as", SECRET_PATH])).code).toBe(0);
    const s = await cliJson<{ chunks_pushed: number; errors: string[] }>(a, ["sync"]);
    expect(s.errors).toEqual([]);
    expect(s.chunks_pushed).toBe(2);
    const p = await cliJson<{ files: { path: string; copies: number; desired: number }[]; at_risk: unknown[] }>(a, ["placement"]);
    expect(p.files).toEqual([expect.objectContaining({ path: SECRET_PATH, copies: 2, desired: 2 })]);
    expect(p.at_risk).toEqual([]);
  });

  test("A shares the file with its friend B; B downloads it through the relay, byte-identical", async () => {
    await befriend(a, b);
    const s = await cliJson<ShareView>(a, ["share", SECRET_PATH, "--with", idB.slice(0, 8)]);
    expect(s.delivered).toBe(true);
    const out = join(root, "got.bin");
    // Inside a namespace the CLI writes where it is told: the root folder is shared.
    const r = await b.cli(["feed", "get", s.id.slice(0, 12), "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), Buffer.from(data))).toBe(0);
  });

  test("messages go both ways through the relay; one sent while B is offline is delivered when it is back", async () => {
    const sent = await cliJson<{ state: string }>(a, ["msg", idB.slice(0, 8), SECRET_TEXT]);
    expect(sent.state).toBe("delivered");
    const reply = await b.cli(["msg", idA.slice(0, 8), "got it"]);
    expect(reply.stdout).toContain("delivered");
    type Msg = { text: string; direction: string; state: string };
    const onB = await cliJson<Msg[]>(b, ["msgs", idA.slice(0, 8)]);
    expect(onB.map((m) => [m.direction, m.text])).toEqual([
      ["in", SECRET_TEXT],
      ["out", "got it"],
    ]);

    await b.stop();
    const queued = await cliJson<{ state: string; id: string }>(a, ["msg", idB.slice(0, 8), "while you were away"]);
    expect(queued.state).toBe("queued");
    b = await start(1, "relay-b");
    // The next round reaches B through the relay and delivers what waited.
    expect((await a.cli(["sync"])).code).toBe(0);
    let state = "";
    for (let i = 0; i < 100 && state !== "delivered"; i++) {
      const conv = await cliJson<(Msg & { id: string })[]>(a, ["msgs", idB.slice(0, 8)]);
      state = conv.find((m) => m.id === queued.id)?.state ?? "";
      if (state !== "delivered") await Bun.sleep(100);
    }
    expect(state).toBe("delivered");
    const texts = (await cliJson<Msg[]>(b, ["msgs", idA.slice(0, 8)])).map((m) => m.text);
    expect(texts.filter((t) => t === "while you were away")).toHaveLength(1);
  });

  test("the frames the relay passed on hold none of the plaintext", async () => {
    const st = await status();
    expect(st.bytes_relayed).toBeGreaterThan(2 * data.byteLength); // pushed once, downloaded once
    expect(existsSync(capture)).toBe(true);
    const cap = readFileSync(capture);
    expect(cap.byteLength).toBeGreaterThan(2 * data.byteLength);
    // 500 windows of 24 bytes from the file: none appears in what the relay saw.
    let found = 0;
    for (let i = 0; i < 500; i++) {
      const at = Math.floor((i / 500) * (data.byteLength - 24));
      if (cap.indexOf(Buffer.from(data.subarray(at, at + 24))) !== -1) found++;
    }
    expect(found).toBe(0);
    for (const text of [
      SECRET_PATH,
      "secret-garden",
      SECRET_TEXT,
      "old oak",
      "while you were away",
      "relay-a",
      "relay-b",
      "/peer/",
      "X-Grove",
      "inventory",
    ]) {
      expect({ text, at: cap.indexOf(Buffer.from(text)) }).toEqual({ text, at: -1 });
    }
  });

  test("a stranger is refused; a cell with the token flooding, sending an oversized frame and over-reserving is refused; the cells keep syncing", async () => {
    const host = relay.url;
    const s0 = newKeys();
    const c0 = await Client.connect(host, s0, [idA]);
    strangers.push(c0);
    expect(c0.state).toBe("refused");
    expect(c0.texts[0]!.reason).toContain("holds no access token");
    const s1 = newKeys();
    // Too many reservations: the relay allows 2 per cell here; the third is refused.
    const c1 = await Client.connect(host, s1, [], s1, false, access.token);
    const c2 = await Client.connect(host, s1, [], s1, false, access.token);
    const c3 = await Client.connect(host, s1, [], s1, false, access.token);
    strangers.push(c1, c2, c3);
    expect([c1.state, c2.state, c3.state]).toEqual(["ready", "ready", "refused"]);
    expect(c3.texts.at(-1)?.reason).toContain("reservations");
    // Flooding A: A does not accept the stranger, and the rate limit closes the connection.
    for (let i = 0; i < 3000 && c1.closed === null; i++) c1.send(idA, new Uint8Array(64));
    await c1.until(() => c1.closed !== null, 10_000);
    expect(c1.closed).not.toBeNull();
    // An oversized frame closes that connection with a reason.
    c2.send(idA, new Uint8Array(5 * 1024 * 1024));
    await c2.until(() => c2.closed !== null, 10_000);
    expect(c2.closed?.code).toBe(1009);
    // Meanwhile the cells still work through the relay: a new file reaches B.
    const src = join(root, "more.bin");
    writeFileSync(src, pseudoRandom(700_000, 12));
    expect((await a.cli(["put", src, "--as", "more.bin"])).code).toBe(0);
    const s = await cliJson<{ chunks_pushed: number; errors: string[] }>(a, ["sync"]);
    expect(s.errors).toEqual([]);
    expect(s.chunks_pushed).toBe(1);
    const st = await status();
    expect(st.refused).toEqual(expect.objectContaining({ reservations_per_cell: 1, frame_too_large: 1, not_allowed: 1 }));
    expect(st.refused.rate! + (st.refused.not_accepted ?? 0)).toBeGreaterThan(100);
    expect(st.cells).toBe(2); // a and b (the stranger is gone)
    expect(relay.proc.exitCode).toBeNull();
  });

  test("push on store goes through the relay too: a file put on A has its two copies with no round", async () => {
    // A again, now pushing on store (the tests above drive rounds themselves); its start-up round
    // probes B's route first (push on store places on peers whose route answered the last probe).
    await a.stop();
    a = await start(0, "relay-a", { push_on_store: true });
    type Sync = { sync: { running: boolean; last: { started_at: number } | null; last_error: string | null } | null };
    let before = 0;
    for (const end = Date.now() + 30_000; !before && Date.now() < end; ) {
      const s = (await cliJson<Sync>(a, ["status"])).sync;
      if (s?.last && !s.running) before = s.last.started_at;
      else await Bun.sleep(100);
    }
    expect(before).toBeGreaterThan(0);
    const path = "pushed/on-store.bin";
    const src = join(root, "on-store.bin");
    writeFileSync(src, pseudoRandom(4 * 1024 * 1024 + 50_000, 13)); // a full chunk and a small one: both paths of the push
    expect((await a.cli(["put", src, "--as", path])).code).toBe(0);
    type Placement = { files: { path: string; copies: number; desired: number }[] };
    let copies = 0;
    for (const end = Date.now() + 30_000; copies < 2 && Date.now() < end; ) {
      copies = (await cliJson<Placement>(a, ["placement"])).files.find((f) => f.path === path)?.copies ?? 0;
      if (copies < 2) await Bun.sleep(100);
    }
    if (copies < 2) console.log(`A's log:\n${a.output()}`);
    expect(copies).toBe(2);
    // No round placed them: the last round is still the start-up one (sync_after_change_s is 0 in tests: no round after a put).
    const after = (await cliJson<Sync>(a, ["status"])).sync;
    expect(after?.last?.started_at).toBe(before);
    expect(after?.running).toBe(false);
  }, 90_000);
});
