/**
 * Bench: a sync round over a slow uplink. Cell A (this namespace) pushes one 4 MiB chunk to B
 * (a network namespace made here) over a veth that tc tbf throttles to --rate (default 400kbit:
 * ~90 s for the chunk, longer than a plain 60 s call timeout). The round watches the transfer
 * (a ping every 15 s) instead of timing it out, so it must finish with the chunk pushed.
 *
 *   bun bench/slow-uplink.ts [--rate 400kbit]
 *
 * Needs root and iproute2 (skips with a message otherwise). Traffic stays on the veth it makes;
 * the namespace and link are removed at the end. Prints the round's time, chunks pushed and
 * errors, and one JSON object as the last line; exit 1 when the chunk was not pushed.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BUN, CLI, cliJson, destroyCell, pair, startCell, type TestCell } from "../test/helpers/cell.ts";
import { pseudoRandom } from "../test/helpers/vault.ts";

const { values } = parseArgs({ options: { rate: { type: "string", default: "400kbit" } }, strict: false });
const rate = String(values.rate);
if (process.getuid?.() !== 0 || !Bun.which("ip") || !Bun.which("tc")) {
  console.error("slow-uplink: needs root, ip and tc (network namespace + tbf); skipped");
  console.log(JSON.stringify({ bench: "slow-uplink", skipped: true }));
  process.exit(0);
}

const tag = process.pid % 9000;
const ns = `grove-slow-${process.pid}`;
const host = `gsh${tag}`;
const peer = `gsn${tag}`;
const net = `10.91.${(process.pid % 200) + 20}`;
const sh = (...a: string[]) => {
  const p = Bun.spawnSync(a, { stderr: "pipe" });
  if (p.exitCode) throw new Error(`${a.join(" ")}: ${p.stderr.toString().trim()}`);
};

let a: TestCell | undefined;
let b: TestCell | undefined;
let pushed = 0;
try {
  sh("ip", "netns", "add", ns);
  sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
  sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer);
  sh("ip", "link", "set", peer, "netns", ns);
  sh("ip", "addr", "add", `${net}.1/24`, "dev", host);
  sh("ip", "link", "set", host, "up");
  sh("ip", "netns", "exec", ns, "ip", "addr", "add", `${net}.2/24`, "dev", peer);
  sh("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up");
  const cfg = { mdns: false, sync_interval_s: 3600, sync_after_change_s: 0, replication_factor: 2 };
  a = await startCell({ listen: { host: `${net}.1`, port: 20555 }, config: { ...cfg, name: "a", advertise: [`http://${net}.1:20555`] } });
  b = await startCell({
    cmd: ["ip", "netns", "exec", ns, BUN, CLI],
    listen: { host: "0.0.0.0", port: 5678 },
    config: { ...cfg, name: "b", advertise: [`http://${net}.2:5678`] },
  });
  await pair(a, b);
  // A's side of the link: what A sends to B.
  sh("tc", "qdisc", "replace", "dev", host, "root", "tbf", "rate", rate, "burst", "16kb", "latency", "5s");
  const src = join(a.root, "big.bin");
  writeFileSync(src, pseudoRandom(4 * 1024 * 1024 - 64, 3));
  if ((await a.cli(["put", src, "--as", "big.bin"])).code !== 0) throw new Error("put failed");
  const t0 = performance.now();
  const r = await cliJson<{ chunks_pushed: number; errors: string[] }>(a, ["sync"]);
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  pushed = r.chunks_pushed;
  console.log(
    `uplink ${rate}: round ${seconds} s, chunks pushed ${r.chunks_pushed}, errors ${r.errors.length ? r.errors.join("; ") : "none"}`,
  );
  console.log(JSON.stringify({ bench: "slow-uplink", rate, seconds, chunks_pushed: r.chunks_pushed, errors: r.errors }));
} finally {
  await destroyCell(a);
  await destroyCell(b);
  Bun.spawnSync(["ip", "netns", "del", ns]);
  Bun.spawnSync(["ip", "link", "del", host]);
}
process.exit(pushed === 1 ? 0 : 1);
