// mDNS discovery between two real cells, each in its own network namespace joined by one veth
// link, so the multicast never leaves what the test built. Needs root and iproute2; skipped
// cleanly otherwise. A cell with mdns off is not seen; discovery does not pair. Turned off in
// config.json while it runs, a cell leaves the others' lists; turned on again under a new name, it
// is seen under that name, without a restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { until } from "../helpers/until.ts";

const isRoot = process.getuid?.() === 0;
const haveIp = Bun.which("ip") !== null;
const tag = (process.pid % 9000) + 1000;
const x = (process.pid % 200) + 20;
const nsA = `grove-md-a-${process.pid}`;
const nsB = `grove-md-b-${process.pid}`;
const ipA = `10.79.${x}.1`;
const ipB = `10.79.${x}.2`;

function sh(...args: string[]): { ok: boolean; err: string } {
  const p = Bun.spawnSync(args, { stderr: "pipe" });
  return { ok: p.exitCode === 0, err: p.stderr.toString().trim() };
}

let setupError = "";
let a: TestCell | undefined;
let b: TestCell | undefined;

beforeAll(async () => {
  if (!isRoot || !haveIp) return;
  const va = `gma${tag}`;
  const vb = `gmb${tag}`;
  const steps = [
    ["ip", "netns", "add", nsA],
    ["ip", "netns", "add", nsB],
    ["ip", "link", "add", va, "type", "veth", "peer", "name", vb],
    ["ip", "link", "set", va, "netns", nsA],
    ["ip", "link", "set", vb, "netns", nsB],
    ["ip", "netns", "exec", nsA, "ip", "addr", "add", `${ipA}/24`, "dev", va],
    ["ip", "netns", "exec", nsB, "ip", "addr", "add", `${ipB}/24`, "dev", vb],
    ["ip", "netns", "exec", nsA, "ip", "link", "set", va, "up", "multicast", "on"],
    ["ip", "netns", "exec", nsB, "ip", "link", "set", vb, "up", "multicast", "on"],
    ["ip", "netns", "exec", nsA, "ip", "link", "set", "lo", "up"],
    ["ip", "netns", "exec", nsB, "ip", "link", "set", "lo", "up"],
    ["ip", "netns", "exec", nsA, "ip", "route", "add", "default", "dev", va],
    ["ip", "netns", "exec", nsB, "ip", "route", "add", "default", "dev", vb],
  ];
  for (const s of steps) {
    const r = sh(...s);
    if (!r.ok) {
      setupError = `${s.join(" ")}: ${r.err}`;
      return;
    }
  }
  const cfg = { sync_interval_s: 3600 };
  [a, b] = await Promise.all([
    startCell({
      cmd: ["ip", "netns", "exec", nsA, BUN, CLI],
      listen: { host: "0.0.0.0", port: 5678 },
      env: { GROVE_MDNS: "1" },
      config: { ...cfg, name: "alpha", mdns_interfaces: [`gma${tag}`] },
    }),
    startCell({
      cmd: ["ip", "netns", "exec", nsB, BUN, CLI],
      listen: { host: "0.0.0.0", port: 5678 },
      env: { GROVE_MDNS: "1" },
      config: { ...cfg, name: "beta", mdns_interfaces: [`gmb${tag}`] },
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b)]);
  sh("ip", "netns", "del", nsA);
  sh("ip", "netns", "del", nsB);
}, 120_000);

async function nearbyOf(cell: TestCell, want: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: { id: string; name: string; paired: boolean; addresses: string[] }[] = [];
  while (Date.now() < deadline) {
    last = JSON.parse((await cell.cli(["nearby", "--json"])).stdout);
    if (last.some((n) => n.id === want)) break;
    await Bun.sleep(500);
  }
  return last;
}

test.skipIf(!isRoot || !haveIp)(
  "two cells on one link see each other by mDNS, unpaired",
  async () => {
    if (!a || !b) throw new Error(`network namespace set-up failed: ${setupError}`);
    const idA = (await a.cli(["id"])).stdout.trim();
    const idB = (await b.cli(["id"])).stdout.trim();
    const seenByA = await nearbyOf(a, idB, 20_000);
    const beta = seenByA.find((n) => n.id === idB);
    expect(beta).toMatchObject({ name: "beta", paired: false });
    expect(beta!.addresses).toContain(`http://${ipB}:5678`);
    const seenByB = await nearbyOf(b, idA, 20_000);
    expect(seenByB.map((n) => n.id)).toContain(idA);
    expect(JSON.parse((await a.cli(["peers", "--json"])).stdout)).toEqual([]);
    // Pairing still goes through an invite; afterwards the nearby entry says so.
    const tok = (await a.cli(["invite"])).stdout.trim();
    expect((await b.cli(["join", tok])).code).toBe(0);
    const after = JSON.parse((await a.cli(["nearby", "--json"])).stdout);
    expect(after.find((n: { id: string }) => n.id === idB).paired).toBe(true);
  },
  90_000,
);

/** Change keys of the cell's config.json (written atomically): the running cell takes them. */
function edit(c: TestCell, extra: Record<string, unknown>): void {
  const p = join(c.dir, "config.json");
  writeFileSync(p + ".tmp", JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), ...extra }, null, 2));
  renameSync(p + ".tmp", p);
}

/** Whether a UDP socket on port 5353 is open in the network namespace of cell `c`'s process. */
function mdnsSockets(c: TestCell): boolean {
  const table = ["udp", "udp6"].map((f) => {
    try {
      return readFileSync(`/proc/${c.proc.pid}/net/${f}`, "utf8");
    } catch {
      return "";
    }
  });
  return table.some((t) => /:14E9 /.test(t));
}

test.skipIf(!isRoot || !haveIp)(
  "local discovery turned off in config.json stops at once; turned on under a new name, the others see that name",
  async () => {
    if (!a || !b) throw new Error(`network namespace set-up failed: ${setupError}`);
    const idB = (await b.cli(["id"])).stdout.trim();
    const listedByA = async () => JSON.parse((await a!.cli(["nearby", "--json"])).stdout) as { id: string; name: string }[];
    expect((await listedByA()).map((n) => n.id)).toContain(idB);
    edit(b, { mdns: false });
    // B says it is off, because of its config; its goodbye takes it off A's list.
    await until(
      "B to say discovery is off",
      async () => (await b!.cli(["nearby", "--json"])).stderr.includes('"mdns" is false'),
      10_000,
      200,
    );
    await until("A to stop listing B", async () => !(await listedByA()).some((n) => n.id === idB), 10_000, 200);
    // Nothing of it left open: B is alone in its namespace, whose UDP table lists no mDNS socket (port 5353).
    await until("B's mDNS sockets to close", () => !mdnsSockets(b!), 5000, 100);
    edit(b, { mdns: true, name: "beta-renamed" });
    await until(
      "A to see B under its new name",
      async () => (await listedByA()).some((n) => n.id === idB && n.name === "beta-renamed"),
      20_000,
      300,
    );
    expect((await b.cli(["nearby", "--json"])).stderr).toBe("");
    expect(mdnsSockets(b)).toBe(true);
    expect(b.output()).toContain("mDNS: stopped");
    expect(b.output()).not.toMatch(/next start \(restart the cell\) keys=[^\n]*mdns/);
  },
  60_000,
);
