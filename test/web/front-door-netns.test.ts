// The Front door from another machine: a network namespace this test makes, joined to this one
// by a veth link, plays the other host. From there: the local API refuses a dashboard served
// beyond loopback (even with the token), and a legacy window's socket answers peers only.
// Needs root and iproute2 (and curl); skipped cleanly otherwise. Everything it creates is
// removed in afterAll; all traffic stays on the veth link.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCell, pair, runGrove, startCell, FROM_SOURCE, type TestCell } from "../helpers/cell.ts";

const isRoot = process.getuid?.() === 0;
const haveTools = Bun.which("ip") !== null && Bun.which("curl") !== null;
const ns = `grove-fd-${process.pid}`;
const tag = (process.pid % 9000) + 1000;
const x = (process.pid % 200) + 20;
const link = { host: `gfh${tag}`, peer: `gfn${tag}`, hostIp: `10.83.${x}.1`, peerIp: `10.83.${x}.2` };

function sh(...args: string[]): { ok: boolean; out: string; err: string } {
  const p = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  return { ok: p.exitCode === 0, out: p.stdout.toString(), err: p.stderr.toString().trim() };
}

/** curl from inside the namespace: status and body. */
function fromOtherHost(url: string, headers: Record<string, string> = {}, method = "GET", body?: string): { status: number; body: string } {
  const args = ["ip", "netns", "exec", ns, "curl", "-s", "-m", "10", "-X", method, "-w", "\n%{http_code}"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  if (body !== undefined) args.push("--data-binary", body);
  const r = sh(...args, url);
  const i = r.out.lastIndexOf("\n");
  return { status: Number(r.out.slice(i + 1)), body: r.out.slice(0, i) };
}

let ready = false;
let setupError = "";
let exposed: TestCell | undefined;
let upgraded: TestCell | undefined;
let friend: TestCell | undefined;

beforeAll(async () => {
  if (!isRoot || !haveTools) return;
  for (const s of [
    ["ip", "netns", "add", ns],
    ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
    ["ip", "link", "add", link.host, "type", "veth", "peer", "name", link.peer],
    ["ip", "link", "set", link.peer, "netns", ns],
    ["ip", "addr", "add", `${link.hostIp}/24`, "dev", link.host],
    ["ip", "link", "set", link.host, "up"],
    ["ip", "netns", "exec", ns, "ip", "addr", "add", `${link.peerIp}/24`, "dev", link.peer],
    ["ip", "netns", "exec", ns, "ip", "link", "set", link.peer, "up"],
  ]) {
    const r = sh(...s);
    if (!r.ok) {
      setupError = `${s.join(" ")}: ${r.err}`;
      return;
    }
  }
  const cfg = { mdns: false, sync_interval_s: 3600, watch_home: false };
  // A dashboard served beyond loopback (a password first; plain HTTP, with the warning).
  exposed = await startCell({ config: cfg });
  await exposed.stop();
  await runGrove(FROM_SOURCE, ["password"], exposed.env, { stdin: "a-long-password\n" });
  exposed = await startCell({ root: exposed.root, listen: { host: "127.0.0.1", port: 0 }, args: ["--host", "0.0.0.0"] });
  // A cell in a legacy window: a peer that has not reached its new port yet.
  [upgraded, friend] = await Promise.all([startCell({ config: cfg }), startCell({ config: cfg })]);
  await pair(upgraded, friend);
  await upgraded.stop();
  writeFileSync(join(upgraded.dir, "legacy_peer_window.json"), JSON.stringify({ host: "0.0.0.0", since: Date.now(), reached: [] }));
  upgraded = await startCell({ root: upgraded.root, listen: { host: "127.0.0.1", port: upgraded.port } });
  ready = true;
}, 90_000);

afterAll(async () => {
  await Promise.all([destroyCell(exposed), destroyCell(upgraded), destroyCell(friend)]);
  if (isRoot && haveTools) {
    sh("ip", "link", "del", link.host);
    sh("ip", "netns", "del", ns);
  }
});

describe("from another host", () => {
  test.skipIf(!isRoot || !haveTools)("a dashboard served beyond loopback: the API answers with the token, the local API never", () => {
    if (!ready) throw new Error(`network namespace set-up failed: ${setupError}`);
    const c = exposed!;
    const base = `http://${link.hostIp}:${c.port}`;
    const auth = { authorization: `Bearer ${c.token}` };
    expect(fromOtherHost(`${base}/api/status`, auth).status).toBe(200); // this machine's address is one of its names
    const local = fromOtherHost(
      `${base}/api/local/put`,
      { ...auth, "content-type": "application/json" },
      "POST",
      JSON.stringify({ source: "/etc/hostname", path: "h" }),
    );
    expect(local.status).toBe(403);
    expect(local.body).toContain("only programs on this machine");
    // A name that is not the cell's (DNS rebinding from that host) is refused as well.
    expect(fromOtherHost(`${base}/api/status`, { ...auth, host: "rebind.attacker.test" }).status).toBe(403);
    expect(c.output()).toContain("WARNING: the dashboard listens on 0.0.0.0 over plain HTTP");
  });

  test.skipIf(!isRoot || !haveTools)("a legacy window's socket answers peers only: no dashboard, no API, even with the token", () => {
    if (!ready) throw new Error(`network namespace set-up failed: ${setupError}`);
    const c = upgraded!;
    const base = `http://${link.hostIp}:${c.port}`;
    expect(c.output()).toContain(`Previous address: port ${c.port} on 0.0.0.0 still answers peers`);
    for (const path of ["/", "/setup", "/files", "/api/status", "/api/local/put"]) {
      const r = fromOtherHost(`${base}${path}`, { authorization: `Bearer ${c.token}` });
      expect(`${path} ${r.status}`).toBe(`${path} 403`);
      expect(r.body).toContain("answers this machine only");
    }
    expect(fromOtherHost(`${base}/peer/ping`, {}, "POST").status).toBe(401); // the peer API: signed, as ever
    // On loopback the dashboard is there.
    expect(sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${c.port}/setup`).out).toBe("200");
  });
});
