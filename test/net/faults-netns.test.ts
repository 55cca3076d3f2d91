/**
 * Faults across hosts: three real cells, each in its own network namespace, joined through a
 * router namespace whose links lose packets and add latency; cell A is then cut off by a
 * partition in the middle of a round's pushes. While it lasts nothing of A's completes and
 * nothing breaks (cells answer, B and C carry on, fsck finds A's data sound); once it heals,
 * replication and sharing finish, every chunk is on exactly R cells (no more: strict cap),
 * every file reads back byte-identical, and fsck is clean on all three.
 *
 * How the faults are made. This kernel has no netem qdisc (nor fq_codel/sfq/prio) and no
 * iptables, so:
 *   - topology: namespaces A, B, C each have one veth link to a router namespace R (default route
 *     through it). R forwards nothing itself: an nft `redirect` in R's prerouting sends traffic for
 *     cell X's address:5678 to the port of a userspace delay proxy (test/helpers/delay-proxy.ts,
 *     running in R) that stands for X and forwards to X;
 *   - latency: the proxy holds every piece of bytes DELAY_MS in each direction, in order (a request
 *     and its answer cost 2 × DELAY_MS more);
 *   - loss: nft in R drops LOSS_PCT % of the packets crossing any of the three links, each way
 *     (`numgen random mod 100 < N drop` on input and output of the router's veths); a message from
 *     one cell to another crosses two links;
 *   - bandwidth: A's uplink is limited with tc tbf (which this kernel has), and slowed further
 *     while the partition waits for A's pushes to start, so that the cut lands while a 4 MiB
 *     chunk is on its way even when a loaded machine stalls the proxy or the test for seconds;
 *   - partition: a second nft table in R (priority raw) drops every packet from or to A's address
 *     and everything R sends out on A's link — a silent black hole, not a refusal; deleting the
 *     table heals it.
 * All traffic stays in the namespaces made here (the root namespace carries none of it); they
 * are all removed in afterAll, whatever happened. Needs root, iproute2 and nft; skipped otherwise.
 * The steps build on each other: one that fails (or times out) fails the ones after it.
 *
 * The fleet: A, B, C all paired (R = 2). B is A's favorite; A's first file is stored while B is
 * A's only peer, so it lands on B whatever the loss does to a round (a round that misses the
 * favorite places on the next peer it reaches), then C pairs with both. C is A's friend and
 * receives a share of a file that is put, and shared, while A is cut off. B's own
 * file replicates to C while A is away. Rounds are driven with `grove sync`; the figures
 * (rounds, times, bytes through the proxy) are printed at the end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, ROOT, cliJson, destroyCell, pair, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { chunkNames, hasChunk } from "../helpers/chunks.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { PlacementReport } from "../../src/sync/placement-report.ts";
import type { FsckReport } from "../../src/sync/fsck.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";
import type { Subprocess } from "bun";

const isRoot = process.getuid?.() === 0;
const haveTools = Bun.which("ip") !== null && Bun.which("nft") !== null;
const canRun = isRoot && haveTools;
if (!canRun) console.warn(`faults-netns: skipped (${!isRoot ? "needs root" : "needs iproute2 (ip) and nftables (nft)"})`);

const R = 2;
const LOSS_PCT = 10;
const DELAY_MS = 50;
/** A's uplink (tc tbf in A's namespace). */
const A_UPLINK = "16mbit";
/**
 * A's uplink during the round that is cut: 4.4 MB then take 35 s, so the cut (after CUT_AFTER_BYTES) lands
 * mid-push with half a minute to spare. At A_UPLINK (2.2 s for all of it), a machine under load
 * that stalls the proxy or the test for 2 s let the whole push through before the cut.
 */
const A_UPLINK_DURING_CUT = "1mbit";
/**
 * A is cut off once this much of the round's pushes reached the proxy: past the 200 kB chunk of
 * notes and the 5 kB one of the report whatever their order, and some 300 kB into the 4 MiB chunk
 * (4 s at A_UPLINK_DURING_CUT, where 1 MB took 8).
 */
const CUT_AFTER_BYTES = 500_000;
const PORT = 5678;

const pid = process.pid;
const tag = (pid % 9000) + 1000;
const x = (pid % 200) + 20;
const routerNs = `grove-fr-${pid}`;
const nodes = (["a", "b", "c"] as const).map((n, i) => ({
  name: n,
  ns: `grove-f${n}-${pid}`,
  rIf: `gfr${tag}${n}`, // router side
  cIf: `gfc${tag}${n}`, // cell side
  rIp: `10.${90 + i}.${x}.1`,
  ip: `10.${90 + i}.${x}.2`,
  proxyPort: 7001 + i,
}));
const [NA] = nodes;

function sh(...args: string[]): { ok: boolean; err: string } {
  const p = Bun.spawnSync(args, { stderr: "pipe", stdout: "pipe" });
  return { ok: p.exitCode === 0, err: p.stderr.toString().trim() };
}
function nft(ruleset: string): { ok: boolean; err: string } {
  const p = Bun.spawnSync(["ip", "netns", "exec", routerNs, "nft", "-f", "-"], {
    stdin: new TextEncoder().encode(ruleset),
    stderr: "pipe",
    stdout: "pipe",
  });
  return { ok: p.exitCode === 0, err: p.stderr.toString().trim() };
}

const root = tempRoot("grove-faults-");
const statsFile = join(root, "proxy-stats.json");
let proxy: Subprocess | null = null;
let setupError = "";
let a: TestCell, b: TestCell, c: TestCell;
const ids = new Map<TestCell, string>();
const figures: Record<string, unknown> = {
  loss_pct_per_link_each_way: LOSS_PCT,
  latency_ms_each_way: DELAY_MS,
  a_uplink: A_UPLINK,
  a_uplink_during_cut: A_UPLINK_DURING_CUT,
};

const files = {
  base: { owner: "a", path: "base.bin", data: pseudoRandom(4 * 1024 * 1024 + 90_000, 31) }, // 2 chunks, before the partition
  notes: { owner: "a", path: "notes/notes.bin", data: pseudoRandom(200_000, 32) }, // 1 chunk, during
  report: { owner: "a", path: "docs/report.bin", data: pseudoRandom(4 * 1024 * 1024 + 5_000, 33) }, // 2 chunks, during; shared with C
  bfile: { owner: "b", path: "b.bin", data: pseudoRandom(150_000, 34) }, // 1 chunk on B, during
} as const;

/** The tc command that sets A's uplink rate (tbf on A's side of its link). */
function shapeA(how: "add" | "change", rate: string): string[] {
  return [
    "ip",
    "netns",
    "exec",
    NA!.ns,
    "tc",
    "qdisc",
    how,
    "dev",
    NA!.cIf,
    "root",
    "tbf",
    "rate",
    rate,
    "burst",
    "32kb",
    "latency",
    "400ms",
  ];
}
function setUplinkA(rate: string): void {
  const r = sh(...shapeA("change", rate));
  if (!r.ok) throw new Error(`A's uplink to ${rate}: ${r.err}`);
}

function makeNetwork(): string | null {
  const steps: string[][] = [
    ["ip", "netns", "add", routerNs],
    ["ip", "-n", routerNs, "link", "set", "lo", "up"],
  ];
  for (const n of nodes) {
    steps.push(
      ["ip", "netns", "add", n.ns],
      ["ip", "-n", n.ns, "link", "set", "lo", "up"],
      // Made inside the namespaces: no interface of this test ever exists in the root namespace.
      ["ip", "-n", routerNs, "link", "add", n.rIf, "type", "veth", "peer", "name", n.cIf, "netns", n.ns],
      ["ip", "-n", routerNs, "addr", "add", `${n.rIp}/24`, "dev", n.rIf],
      ["ip", "-n", routerNs, "link", "set", n.rIf, "up"],
      ["ip", "-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", n.cIf],
      ["ip", "-n", n.ns, "link", "set", n.cIf, "up"],
      ["ip", "-n", n.ns, "route", "add", "default", "via", n.rIp],
    );
  }
  steps.push(shapeA("add", A_UPLINK));
  for (const s of steps) {
    const r = sh(...s);
    if (!r.ok) return `${s.join(" ")}: ${r.err}`;
  }
  const redirects = nodes.map((n) => `ip daddr ${n.ip} tcp dport ${PORT} redirect to :${n.proxyPort}`).join("; ");
  const r = nft(`table inet grovefaults {
  chain pre { type nat hook prerouting priority dstnat; policy accept; ${redirects}; }
  chain lossin { type filter hook input priority filter; policy accept; iifname "gfr${tag}*" numgen random mod 100 < ${LOSS_PCT} drop; }
  chain lossout { type filter hook output priority filter; policy accept; oifname "gfr${tag}*" numgen random mod 100 < ${LOSS_PCT} drop; }
}`);
  return r.ok ? null : `nft: ${r.err}`;
}

function removeNetwork(): void {
  for (const n of nodes) sh("ip", "netns", "del", n.ns);
  sh("ip", "netns", "del", routerNs); // takes the veths, the nft tables and the proxy's sockets with it
}

/** Cut A off from everyone (a black hole), or heal. */
function partitionA(on: boolean): void {
  const r = on
    ? nft(`table inet grovepartition {
  chain pre { type filter hook prerouting priority raw; policy accept; ip saddr ${NA!.ip} drop; ip daddr ${NA!.ip} drop; }
  chain out { type filter hook output priority raw; policy accept; oifname "${NA!.rIf}" drop; }
}`)
    : nft("delete table inet grovepartition");
  if (!r.ok) throw new Error(`partition ${on ? "on" : "off"}: ${r.err}`);
}

async function startProxy(): Promise<void> {
  const maps = nodes.map((n) => `${n.proxyPort}=${n.ip}:${PORT}`);
  proxy = Bun.spawn(
    [
      "ip",
      "netns",
      "exec",
      routerNs,
      BUN,
      join(ROOT, "test", "helpers", "delay-proxy.ts"),
      "--delay",
      String(DELAY_MS),
      "--stats",
      statsFile,
      ...maps,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const reader = (proxy.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await Promise.race([reader.read(), Bun.sleep(15_000).then(() => ({ value: undefined }))]);
  reader.releaseLock();
  if (!value || !new TextDecoder().decode(value).includes("ready"))
    throw new Error(`delay proxy did not start: ${await new Response(proxy.stderr as ReadableStream).text().catch(() => "")}`);
}

type ProxyStats = { ports: Record<string, { connections: number; failed_connects: number; bytes_to: number; bytes_back: number }> };
const proxyStats = (): ProxyStats => (existsSync(statsFile) ? (JSON.parse(readFileSync(statsFile, "utf8")) as ProxyStats) : { ports: {} });
/** Bytes the proxy carried, both ways, all cells. */
const proxyBytes = () => Object.values(proxyStats().ports).reduce((n, p) => n + p.bytes_to + p.bytes_back, 0);
/** Bytes the proxy delivered to cell i (requests to it). */
const proxyBytesTo = (i: number) => proxyStats().ports[String(nodes[i]!.proxyPort)]?.bytes_to ?? 0;

function startIn(i: number): Promise<TestCell> {
  const n = nodes[i]!;
  mkdirSync(join(root, n.name), { recursive: true });
  return startCell({
    root: join(root, n.name),
    cmd: ["ip", "netns", "exec", n.ns, BUN, CLI],
    listen: { host: "0.0.0.0", port: PORT },
    config: {
      name: n.name,
      replication_factor: R,
      sync_interval_s: 3600,
      watch_home: false,
      mdns: false,
      advertise: [`http://${n.ip}:${PORT}`],
    },
  });
}

beforeAll(async () => {
  if (!canRun) return;
  const err = makeNetwork();
  if (err) {
    setupError = err;
    return;
  }
  try {
    await startProxy();
    [a, b, c] = await Promise.all([startIn(0), startIn(1), startIn(2)]);
    const got = await Promise.all([a, b, c].map(async (cell) => (await cell.cli(["id"])).stdout.trim()));
    for (const [i, cell] of [a, b, c].entries()) ids.set(cell, got[i]!);
  } catch (e) {
    setupError = String(e);
  }
}, 90_000);

afterAll(async () => {
  await Promise.all([a, b, c].map((cell) => destroyCell(cell).catch(() => {})));
  if (proxy && proxy.exitCode === null) {
    proxy.kill("SIGTERM");
    await Promise.race([proxy.exited, Bun.sleep(3000)]);
    if (proxy.exitCode === null) proxy.kill("SIGKILL");
  }
  if (canRun) removeNetwork();
  rmSync(root, { recursive: true, force: true });
  if (Object.keys(figures).length > 3) console.log(`faults-netns figures: ${JSON.stringify(figures)}`);
}, 60_000);

/** Each test needs the set-up, and the tests before it (they build on each other). */
let failedStep = "";
function ready(): void {
  if (setupError) throw new Error(`set-up failed: ${setupError}`);
  if (failedStep) throw new Error(`an earlier step failed: ${failedStep}`);
}
/** A test that runs only when the set-up and the steps before it succeeded. */
function step(name: string, fn: () => Promise<void>, timeoutMs: number): void {
  test(
    name,
    async () => {
      ready();
      failedStep = name; // stays set if the step throws or times out
      await fn();
      failedStep = "";
    },
    timeoutMs,
  );
}
const cellOf = (owner: string) => (owner === "a" ? a : owner === "b" ? b : c);
const id8 = (cell: TestCell) => ids.get(cell)!.slice(0, 8);

/** `grove sync --json` (exit code 1 when no peer answered: the report is printed all the same). */
async function sync(cell: TestCell): Promise<SyncReport> {
  const r = await cell.cli(["sync", "--json"]);
  if (!r.stdout.trim()) throw new Error(`grove sync: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SyncReport;
}

type RoundFigures = Pick<
  SyncReport,
  "reached" | "chunks_pushed" | "chunks_pulled" | "released" | "under_replicated" | "errors" | "duration_ms"
>;
/** Rounds on `cell` until `done` says so (at most `max`); the reports, for the figures and for a failure's message. */
async function syncUntil(
  cell: TestCell,
  done: (r: SyncReport) => Promise<boolean>,
  max = 6,
): Promise<{ done: boolean; rounds: number; reports: RoundFigures[] }> {
  const reports: RoundFigures[] = [];
  for (let i = 1; i <= max; i++) {
    const r = await sync(cell);
    const { reached, chunks_pushed, chunks_pulled, released, under_replicated, errors, duration_ms } = r;
    reports.push({ reached, chunks_pushed, chunks_pulled, released, under_replicated, errors, duration_ms });
    if (await done(r)) return { done: true, rounds: i, reports };
  }
  console.warn(`faults-netns: not done after ${max} rounds: ${JSON.stringify(reports)}`);
  return { done: false, rounds: max, reports };
}

async function put(cell: TestCell, f: { path: string; data: Uint8Array }): Promise<void> {
  const src = join(cell.root, `src-${f.path.replaceAll("/", "_")}`);
  writeFileSync(src, f.data);
  const r = await cell.cli(["put", src, "--as", f.path]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

/** Every chunk name of every manifest `cell` owns (read from its placement.db). */
function ownChunks(cell: TestCell): string[] {
  const db = new Database(join(cell.dir, "placement.db"), { readonly: true });
  try {
    return (db.query("SELECT DISTINCT chunk_hash FROM manifest_chunks").all() as { chunk_hash: string }[]).map((r) => r.chunk_hash);
  } finally {
    db.close();
  }
}
function chunksOfFile(cell: TestCell, path: string): string[] {
  const db = new Database(join(cell.dir, "placement.db"), { readonly: true });
  try {
    // The manifest's rows (its file may not be written yet: store/manifest-settle).
    const m = db
      .query(
        `SELECT chunk_hash FROM manifest_chunks
         WHERE manifest_hash = (SELECT manifest_hash FROM manifests WHERE source_path = ? ORDER BY created_at LIMIT 1) ORDER BY idx`,
      )
      .all(path) as { chunk_hash: string }[];
    if (!m.length) throw new Error(`no manifest for ${path}`);
    return m.map((r) => r.chunk_hash);
  } finally {
    db.close();
  }
}

/** The chunks a cell keeps (rows of placement.db and files of chunks/), and anything else in chunks/ (leftovers). */
function chunkFiles(cell: TestCell): { names: string[]; other: string[] } {
  const dir = join(cell.dir, "chunks");
  const other: string[] = [];
  if (existsSync(dir)) {
    for (const sub of readdirSync(dir)) {
      for (const f of readdirSync(join(dir, sub))) if (!(/^[0-9a-f]{64}$/.test(f) && f.startsWith(sub))) other.push(`${sub}/${f}`);
    }
  }
  return { names: chunkNames(cell.dir), other };
}
/** Which cells ("a", "b", "c") keep chunk `h` (as a row or a file). */
const holders = (h: string) => [a, b, c].flatMap((cell, i) => (hasChunk(cell.dir, h) ? [nodes[i]!.name] : []));

describe.skipIf(!canRun)("faults across hosts: loss, latency and a partition", () => {
  step(
    "three cells pair and replicate through lossy, slow links",
    async () => {
      // A's first file is placed while B is A's only peer. Under loss a round can miss a peer (its
      // probe is one ping; a transfer that stalls drops the peer from the round), and a round that
      // misses the favorite places the chunk on the next reachable peer, C, where the strict cap
      // then keeps it: the favorite is a preference among the peers a round reaches, not a
      // promise. With C paired afterwards, B is the only place A's chunks can go, whichever
      // round gets them there.
      await pair(a, b);
      const fav = await a.cli(["peers", "favorite", ids.get(b)!]);
      expect(fav.stderr).toBe("");
      expect(fav.code).toBe(0);
      await put(a, files.base);
      // Rounds are driven until done (a round that misses B pushes nothing; the next one tries again).
      const first = await syncUntil(a, async (r) => r.reached === 1 && r.under_replicated === 0);
      expect(first.done).toBe(true);
      expect(first.reports.reduce((n, r) => n + r.chunks_pushed, 0)).toBe(2);
      for (const h of chunksOfFile(a, files.base.path)) expect(holders(h)).toEqual(["a", "b"]);
      // Then C joins both, and A and C become friends (A asks, C accepts): A's rounds reach both peers and move nothing
      // (every chunk is at the factor already).
      await pair(a, c);
      await pair(b, c);
      for (const [cell, args] of [
        [a, ["peers", "friend", ids.get(c)!]],
        [c, ["peers", "accept", ids.get(a)!]],
      ] as const) {
        const r = await cell.cli([...args]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
      }
      // C's acceptance travels to A over the lossy link; one that did not get through is sent
      // again after C's next sync round (fleet/friendship). A must know before it shares (below).
      const aKnows = async () =>
        (await cliJson<{ id: string; friendship: string }[]>(a, ["peers"])).find((p) => p.id === ids.get(c))?.friendship === "friends";
      if (!(await aKnows())) expect((await syncUntil(c, aKnows)).done).toBe(true);
      const all = await syncUntil(a, async (r) => r.reached === 2);
      figures.rounds_before_partition = first.rounds + all.rounds;
      expect(all.done).toBe(true);
      expect(all.reports.reduce((n, r) => n + r.chunks_pushed + r.chunks_pulled + r.released + r.under_replicated, 0)).toBe(0);
      for (const h of chunksOfFile(a, files.base.path)) expect(holders(h)).toEqual(["a", "b"]);
      figures.bytes_through_proxy_before_partition = proxyBytes();
    },
    90_000,
  );

  step(
    "partition in the middle of A's pushes: nothing of A's completes, nothing breaks, B and C carry on",
    async () => {
      await put(a, files.notes);
      await put(a, files.report);
      // A's round starts; once its pushes are under way (CUT_AFTER_BYTES of the 4.4 MB passed), A is cut off.
      // They go to B, the favorite, unless this round's probe missed B under loss: then to C. The
      // cut lands in the middle either way.
      const toPeers = () => proxyBytesTo(1) + proxyBytesTo(2);
      const toPeers0 = toPeers();
      const toB0 = proxyBytesTo(1);
      setUplinkA(A_UPLINK_DURING_CUT);
      const t0 = Date.now();
      const cut = sync(a);
      while (toPeers() - toPeers0 < CUT_AFTER_BYTES && Date.now() - t0 < 60_000) await Bun.sleep(50);
      partitionA(true);
      setUplinkA(A_UPLINK); // nothing passes the partition anyway; the heal finds the usual link
      figures.cut_after_ms = Date.now() - t0;
      figures.cut_after_bytes_to_b = proxyBytesTo(1) - toB0;
      figures.cut_after_bytes_to_b_and_c = toPeers() - toPeers0;
      // While A's round is stuck: A shares with C; B stores a file; B and C run rounds.
      await put(b, files.bfile);
      const bDone = async () => chunksOfFile(b, files.bfile.path).every((h) => holders(h).join() === "b,c");
      const [share, rb, rc] = await Promise.all([
        cliJson<ShareView>(a, ["share", files.report.path, "--with", id8(c)]),
        syncUntil(b, async (r) => r.under_replicated === 0 && (await bDone())),
        syncUntil(c, async (r) => r.reached === 1),
      ]);
      const ra = await cut;
      figures.cut_round_ms = Date.now() - t0;
      // The round that was cut comes back (its transfers to a silent peer are abandoned), with
      // the reasons, and the big chunk still under the factor.
      expect(ra.errors.length).toBeGreaterThan(0);
      expect(ra.under_replicated).toBeGreaterThan(0);
      expect(ra.missing).toBe(0);
      // The share is kept, not delivered: retried after each round.
      expect(share.state).toBe("active");
      expect(share.delivered).toBe(false);
      expect(share.delivery_error).toBeTruthy();
      // B and C still work together: B's new file goes to C (A, not reached, is not needed).
      figures.b_rounds_during_partition = rb.rounds;
      expect(rb.done).toBe(true);
      expect(rb.reports.every((r) => r.reached <= 1)).toBe(true);
      expect(rb.reports.reduce((n, r) => n + r.chunks_pushed, 0)).toBe(1);
      expect(rc.done).toBe(true);
      for (const h of chunksOfFile(b, files.bfile.path)) expect(holders(h)).toEqual(["b", "c"]);
      // A round during the partition: nobody reached, nothing pushed, nothing lost; and fsck on
      // A at the same time finds its data sound and says which peers it could not ask.
      const t1 = Date.now();
      const [again, check] = await Promise.all([
        sync(a).then((r) => ((figures.partitioned_round_ms = Date.now() - t1), r)),
        a.cli(["fsck", "--json"]).then((r) => ((figures.partitioned_fsck_ms = Date.now() - t1), r)),
      ]);
      const checked = JSON.parse(check.stdout) as FsckReport;
      expect({
        problems: checked.problems,
        unreachable: checked.peers_unreachable.length,
        asked: checked.peers_asked,
        code: check.code,
      }).toEqual({ problems: [], unreachable: 2, asked: 0, code: 0 });
      expect(checked.chunks_checked).toBe(5);
      expect(again.reached).toBe(0);
      expect(again.unreached.length).toBe(2);
      expect(again.chunks_pushed + again.chunks_pulled + again.released).toBe(0);
      expect(again.under_replicated).toBeGreaterThan(0);
      expect(again.missing).toBe(0);
      // On disk: every chunk of A's on A and never on more than R cells; the big chunk of the
      // report (cut in flight) on A only; the old file where it was.
      const [bigChunk] = chunksOfFile(a, files.report.path);
      expect(holders(bigChunk!)).toEqual(["a"]);
      for (const f of [files.notes, files.report]) {
        for (const h of chunksOfFile(a, f.path)) {
          expect(holders(h)[0]).toBe("a");
          expect(holders(h).length).toBeLessThanOrEqual(R);
        }
      }
      for (const h of chunksOfFile(a, files.base.path)) expect(holders(h)).toEqual(["a", "b"]);
      // A answers and tells the truth: the report is at risk, the old file is not, and no file
      // is said to have more copies than it has.
      const p = await cliJson<PlacementReport>(a, ["placement"]);
      expect(p.at_risk.map((f) => f.path)).toContain(files.report.path);
      expect(p.files.find((f) => f.path === files.base.path)?.copies).toBe(2);
      for (const f of p.files) {
        const onDisk = Math.min(...chunksOfFile(a, f.path).map((h) => holders(h).length));
        expect(f.copies).toBeLessThanOrEqual(onDisk);
      }
      // C has not got the grant; A keeps it as not delivered.
      expect(await cliJson<FeedItem[]>(c, ["feed"])).toEqual([]);
      expect((await cliJson<ShareView[]>(a, ["shares"])).map((s) => [s.path, s.delivered])).toEqual([[files.report.path, false]]);
      // A's files read back whole on A.
      for (const f of [files.notes, files.report]) {
        const out = join(a.root, "during.bin");
        expect((await a.cli(["get", f.path, "-o", out])).code).toBe(0);
        expect(Buffer.compare(readFileSync(out), Buffer.from(f.data))).toBe(0);
      }
    },
    150_000,
  );

  step(
    "heal: replication and sharing finish after the partition",
    async () => {
      const bytes0 = proxyBytes();
      partitionA(false);
      const t0 = Date.now();
      // Rounds on A until every file has R copies and the grant is delivered (it goes out right
      // after a round, in the background: it is given a few seconds).
      const healed = await syncUntil(a, async (r) => {
        const p = await cliJson<PlacementReport>(a, ["placement"]);
        let delivered = false;
        for (let i = 0; i < 40 && !delivered; i++) {
          delivered = (await cliJson<ShareView[]>(a, ["shares"]))[0]!.delivered;
          if (!delivered) await Bun.sleep(250);
        }
        return r.under_replicated === 0 && p.at_risk.length === 0 && p.files.every((f) => f.copies === R) && delivered;
      });
      figures.rounds_after_heal = healed.rounds;
      figures.heal_rounds = healed.reports;
      figures.replicated_and_delivered_after_heal_ms = Date.now() - t0;
      figures.bytes_through_proxy_for_healing = proxyBytes() - bytes0;
      expect(healed.done).toBe(true);
      // C's feed lists the file once; C reads it byte-identical (from A or from B, which holds A's chunks).
      const feed = await cliJson<FeedItem[]>(c, ["feed"]);
      expect(feed).toEqual([
        expect.objectContaining({ from: ids.get(a), filename: "report.bin", size: files.report.data.byteLength, state: "available" }),
      ]);
      const out = join(c.root, "got-report.bin");
      const got = await c.cli(["feed", "get", feed[0]!.id.slice(0, 12), "-o", out]);
      expect(got.stderr).toBe("");
      expect(got.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), Buffer.from(files.report.data))).toBe(0);
      figures.shared_file_read_after_heal_ms = Date.now() - t0;
    },
    120_000,
  );

  step(
    "no lost or duplicated chunks: each on exactly R cells, files whole, fsck clean on all three",
    async () => {
      // Every chunk of every file: on exactly R cells, its owner among them.
      const owned = new Map<TestCell, string[]>([
        [a, ownChunks(a)],
        [b, ownChunks(b)],
        [c, ownChunks(c)],
      ]);
      expect(owned.get(a)!.length).toBe(5);
      expect(owned.get(b)!.length).toBe(1);
      expect(owned.get(c)!.length).toBe(0);
      for (const [owner, hs] of owned) {
        for (const h of hs) {
          const on = holders(h);
          expect({ chunk: h.slice(0, 12), copies: on.length }).toEqual({ chunk: h.slice(0, 12), copies: R });
          expect(on).toContain(nodes[[a, b, c].indexOf(owner)]!.name);
        }
      }
      // And nothing else: the chunk files of the three cells are exactly R per chunk, no strays or leftovers.
      const all = [a, b, c].map(chunkFiles);
      expect(all.flatMap((x) => x.other)).toEqual([]);
      const distinct = new Set([...owned.values()].flat());
      expect(all.reduce((n, x) => n + x.names.length, 0)).toBe(R * distinct.size);
      for (const x of all) for (const n of x.names) expect(distinct.has(n)).toBe(true);
      // Every file byte-identical from its owner.
      await Promise.all(
        Object.entries(files).map(async ([name, f]) => {
          const cell = cellOf(f.owner);
          const out = join(cell.root, `check-${name}.bin`);
          const r = await cell.cli(["get", f.path, "-o", out]);
          expect(r.code).toBe(0);
          expect(Buffer.compare(readFileSync(out), Buffer.from(f.data))).toBe(0);
        }),
      );
      // One grant, delivered once.
      expect((await cliJson<ShareView[]>(a, ["shares"])).map((s) => s.delivered)).toEqual([true]);
      expect((await cliJson<FeedItem[]>(c, ["feed"])).length).toBe(1);
      // fsck on all three, each asking both its peers what they hold (its placement records
      // against theirs): no problem, nothing unreferenced. (A ping lost three times in a row
      // leaves a peer out: that fsck is run again.)
      const fsckAll = async (cell: TestCell): Promise<{ code: number; rep: FsckReport }> => {
        let last = { code: -1, rep: null as unknown as FsckReport };
        for (let i = 0; i < 3; i++) {
          const r = await cell.cli(["fsck", "--json"]);
          last = { code: r.code, rep: JSON.parse(r.stdout) as FsckReport };
          if (last.rep.peers_asked === 2) break;
        }
        return last;
      };
      const checks = await Promise.all([a, b, c].map(fsckAll));
      for (const [i, { code, rep }] of checks.entries()) {
        expect({
          cell: nodes[i]!.name,
          problems: rep.problems,
          asked: rep.peers_asked,
          unreferenced: rep.unreferenced_chunks,
          code,
        }).toEqual({
          cell: nodes[i]!.name,
          problems: [],
          asked: 2,
          unreferenced: 0,
          code: 0,
        });
      }
      // And it stays that way: another round on A and on B moves nothing.
      const idle = await Promise.all([a, b].map(sync));
      for (const r of idle)
        expect({ pushed: r.chunks_pushed, pulled: r.chunks_pulled, released: r.released, under: r.under_replicated }).toEqual({
          pushed: 0,
          pulled: 0,
          released: 0,
          under: 0,
        });
      figures.bytes_through_proxy_total = proxyBytes();
    },
    120_000,
  );
});
