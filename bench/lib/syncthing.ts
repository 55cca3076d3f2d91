/**
 * Two Syncthing instances on loopback only, sharing one folder, for reference figures.
 *
 * Nothing may leave 127.0.0.1: each instance's config.xml is generated (`syncthing generate`,
 * no default folder, no port probing) and then rewritten before its first start: listen address
 * tcp://127.0.0.1:PORT only (no QUIC, no relay listener), GUI/REST on 127.0.0.1, global and
 * local discovery off, relays off, NAT traversal (UPnP/NAT-PMP) off, STUN off, LAN address
 * announcing off, usage reporting refused (urAccepted -1), crash reporting off, automatic upgrades
 * off (also STNOUPGRADE=1), no browser. Each knows the other's device id with its explicit address
 * tcp://127.0.0.1:PORT, and the shared folder lists both devices. After start the options are read
 * back over REST and checked, and `networkCheck` lists every socket the processes hold (ss) so the
 * bench can show that only 127.0.0.1 was used.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { aptInstalled, cpuSeconds } from "./measure.ts";

export const FOLDER_ID = "grove-bench";

/** syncthing on PATH, else the Debian package installed (root only), else null. */
export function ensureSyncthing(say: (m: string) => void): string | null {
  return aptInstalled("syncthing", "syncthing", say);
}

/** Options forced in config.xml (and checked over REST after start). */
function networkOptions(listenPort: number): Record<string, string> {
  return {
    listenAddress: `tcp://127.0.0.1:${listenPort}`,
    globalAnnounceEnabled: "false",
    localAnnounceEnabled: "false",
    relaysEnabled: "false",
    natEnabled: "false",
    startBrowser: "false",
    urAccepted: "-1",
    urSeen: "3",
    autoUpgradeIntervalH: "0",
    crashReportingEnabled: "false",
    stunKeepaliveStartS: "0",
    announceLANAddresses: "false",
  };
}

export interface StInstance {
  name: string;
  home: string;
  folder: string;
  deviceId: string;
  listenPort: number;
  guiPort: number;
  apiKey: string;
  proc: Subprocess | null;
  log: string;
}

/** Whether `pid` is (still) a syncthing process. */
function isSyncthing(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("syncthing");
  } catch {
    return false;
  }
}

export class SyncthingPair {
  readonly a: StInstance;
  readonly b: StInstance;

  constructor(
    private bin: string,
    root: string,
    ports: { aListen: number; aGui: number; bListen: number; bGui: number },
  ) {
    const mk = (name: string, listenPort: number, guiPort: number): StInstance => ({
      name,
      home: join(root, `st-${name}`),
      folder: join(root, `st-${name}-folder`),
      deviceId: "",
      listenPort,
      guiPort,
      apiKey: randomBytes(16).toString("hex"),
      proc: null,
      log: "",
    });
    this.a = mk("a", ports.aListen, ports.aGui);
    this.b = mk("b", ports.bListen, ports.bGui);
  }

  private env(i: StInstance): Record<string, string> {
    return {
      ...(process.env as Record<string, string>),
      HOME: i.home,
      STNOUPGRADE: "1",
      STNODEFAULTFOLDER: "1",
      STNORESTART: "1",
    };
  }

  /** Generate keys and config for both, then write the loopback-only configs. */
  setup(): void {
    for (const i of [this.a, this.b]) {
      mkdirSync(i.home, { recursive: true, mode: 0o700 });
      const r = Bun.spawnSync([this.bin, "generate", `--home=${i.home}`, "--no-default-folder", "--skip-port-probing"], {
        env: this.env(i),
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = r.stdout.toString() + r.stderr.toString();
      const m = /Device ID:\s*([A-Z0-9-]{63})/.exec(out);
      if (r.exitCode !== 0 || !m) throw new Error(`syncthing generate failed:\n${out}`);
      i.deviceId = m[1]!;
      // The folder with its marker (a folder without .stfolder is refused as "not mounted").
      mkdirSync(join(i.folder, ".stfolder"), { recursive: true });
    }
    for (const [me, other] of [
      [this.a, this.b],
      [this.b, this.a],
    ] as const)
      this.writeConfig(me, other);
  }

  private writeConfig(me: StInstance, other: StInstance): void {
    const path = join(me.home, "config.xml");
    let xml = readFileSync(path, "utf8");
    const options = xml.slice(xml.indexOf("<options>"), xml.indexOf("</options>"));
    let newOptions = options;
    for (const [k, v] of Object.entries(networkOptions(me.listenPort))) {
      const re = new RegExp(`<${k}>[^<]*</${k}>`);
      newOptions = re.test(newOptions) ? newOptions.replace(re, `<${k}>${v}</${k}>`) : newOptions + `    <${k}>${v}</${k}>\n    `;
    }
    // No STUN servers, no global discovery servers (both unused with the switches above anyway).
    newOptions = newOptions
      .replace(/\s*<stunServer>[^<]*<\/stunServer>/g, "")
      .replace(/\s*<globalAnnounceServer>[^<]*<\/globalAnnounceServer>/g, "");
    xml = xml.replace(options, newOptions);
    // Our own device entry comes first: its address "dynamic" becomes the explicit one.
    xml = xml.replace("<address>dynamic</address>", `<address>tcp://127.0.0.1:${me.listenPort}</address>`);
    xml = xml.replace(
      /<gui([^>]*)>\s*<address>[^<]*<\/address>\s*<apikey>[^<]*<\/apikey>/,
      `<gui$1>\n        <address>127.0.0.1:${me.guiPort}</address>\n        <apikey>${me.apiKey}</apikey>`,
    );
    const peer = `    <device id="${other.deviceId}" name="${other.name}" compression="metadata" introducer="false" skipIntroductionRemovals="false" introducedBy="">
        <address>tcp://127.0.0.1:${other.listenPort}</address>
        <paused>false</paused>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>
    <folder id="${FOLDER_ID}" label="${FOLDER_ID}" path="${me.folder}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="false" fsWatcherDelayS="10" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${me.deviceId}" introducedBy=""></device>
        <device id="${other.deviceId}" introducedBy=""></device>
        <minDiskFree unit="%">1</minDiskFree>
    </folder>
`;
    if (!xml.includes("    <gui ")) throw new Error("syncthing config.xml has no <gui> element");
    xml = xml.replace("    <gui ", `${peer}    <gui `);
    writeFileSync(path, xml, { mode: 0o600 });
  }

  /** Start both instances and wait for their REST APIs. */
  async start(): Promise<void> {
    for (const i of [this.a, this.b]) {
      const proc = Bun.spawn([this.bin, "serve", `--home=${i.home}`, "--no-browser", "--no-restart", "--no-upgrade", "--logflags=0"], {
        env: this.env(i),
        cwd: i.home,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      i.proc = proc;
      const pump = async (s: ReadableStream<Uint8Array>) => {
        const dec = new TextDecoder();
        for await (const c of s as unknown as AsyncIterable<Uint8Array>) i.log += dec.decode(c);
      };
      void pump(proc.stdout as ReadableStream<Uint8Array>);
      void pump(proc.stderr as ReadableStream<Uint8Array>);
    }
    for (const i of [this.a, this.b]) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (i.proc!.exitCode !== null) throw new Error(`syncthing ${i.name} exited (${i.proc!.exitCode}):\n${i.log.slice(-2000)}`);
        try {
          if ((await this.rest(i, "/rest/system/ping")).ok) break;
        } catch {}
        if (Date.now() > deadline) throw new Error(`syncthing ${i.name}: REST did not answer:\n${i.log.slice(-2000)}`);
        await Bun.sleep(100);
      }
    }
  }

  rest(i: StInstance, path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`http://127.0.0.1:${i.guiPort}${path}`, {
      ...init,
      headers: { "X-API-Key": i.apiKey, ...(init.headers ?? {}) },
      signal: AbortSignal.timeout(600_000),
    });
  }

  async restJson<T>(i: StInstance, path: string, init: RequestInit = {}): Promise<T> {
    const r = await this.rest(i, path, init);
    if (!r.ok) throw new Error(`syncthing ${i.name} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  /** The options as the running instances see them must keep everything on loopback. */
  async checkOptions(): Promise<void> {
    for (const i of [this.a, this.b]) {
      const o = await this.restJson<Record<string, unknown>>(i, "/rest/config/options");
      const bad: string[] = [];
      if (JSON.stringify(o.listenAddresses) !== JSON.stringify([`tcp://127.0.0.1:${i.listenPort}`]))
        bad.push(`listenAddresses ${JSON.stringify(o.listenAddresses)}`);
      for (const k of [
        "globalAnnounceEnabled",
        "localAnnounceEnabled",
        "relaysEnabled",
        "natEnabled",
        "crashReportingEnabled",
        "announceLANAddresses",
        "startBrowser",
      ])
        if (o[k] !== false) bad.push(`${k}=${String(o[k])}`);
      if (o.urAccepted !== -1) bad.push(`urAccepted=${String(o.urAccepted)}`);
      if (o.autoUpgradeIntervalH !== 0) bad.push(`autoUpgradeIntervalH=${String(o.autoUpgradeIntervalH)}`);
      if (o.stunKeepaliveStartS !== 0) bad.push(`stunKeepaliveStartS=${String(o.stunKeepaliveStartS)}`);
      if (bad.length) throw new Error(`syncthing ${i.name}: options not loopback-only: ${bad.join(", ")}`);
    }
  }

  /** Wait until the two instances are connected to each other. */
  async waitConnected(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ca = await this.restJson<{ connections: Record<string, { connected: boolean }> }>(this.a, "/rest/system/connections");
      const cb = await this.restJson<{ connections: Record<string, { connected: boolean }> }>(this.b, "/rest/system/connections");
      if (ca.connections[this.b.deviceId]?.connected && cb.connections[this.a.deviceId]?.connected) return;
      if (Date.now() > deadline)
        throw new Error(
          `syncthing instances did not connect within ${timeoutMs / 1000} s:\n--- a ---\n${this.a.log.slice(-1500)}\n--- b ---\n${this.b.log.slice(-1500)}`,
        );
      await Bun.sleep(200);
    }
  }

  /** Scan A's folder now; resolves when the scan is done (the REST call blocks until then). */
  async scan(i: StInstance): Promise<void> {
    const r = await this.rest(i, `/rest/db/scan?folder=${FOLDER_ID}`, { method: "POST" });
    if (!r.ok) throw new Error(`syncthing ${i.name} scan: ${r.status} ${await r.text()}`);
  }

  async folderStatus(
    i: StInstance,
  ): Promise<{ state: string; needFiles: number; needBytes: number; globalBytes: number; inSyncBytes: number; localBytes: number }> {
    return this.restJson(i, `/rest/db/status?folder=${FOLDER_ID}`);
  }

  /** The process we started (Syncthing's monitor) and its descendants (the Syncthing that works). */
  processTree(i: StInstance): number[] {
    const root = i.proc?.pid;
    if (root === undefined) return [];
    const out = [root];
    for (let k = 0; k < out.length; k++) {
      try {
        for (const t of readdirSync(`/proc/${out[k]}/task`)) {
          for (const c of readFileSync(`/proc/${out[k]}/task/${t}/children`, "utf8").trim().split(/\s+/)) if (c) out.push(Number(c));
        }
      } catch {}
    }
    return out;
  }

  pids(): number[] {
    return [this.a, this.b].flatMap((i) => this.processTree(i));
  }

  /** CPU seconds used so far by one instance's processes. */
  cpuSeconds(which: "a" | "b"): number {
    return this.processTree(which === "a" ? this.a : this.b).reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
  }

  /**
   * Every TCP/UDP socket the instances hold now (ss), and those whose local or peer address is
   * not 127.0.0.1 (a listening wildcard counts as not loopback).
   */
  networkCheck(): { sockets: number; nonLoopback: string[] } {
    const r = Bun.spawnSync(["ss", "-tuanpH"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) return { sockets: -1, nonLoopback: [`ss failed: ${r.stderr.toString().trim()}`] };
    const pids = new Set(this.pids().map(String));
    let sockets = 0;
    const nonLoopback: string[] = [];
    for (const line of r.stdout.toString().split("\n")) {
      const m = /pid=(\d+)/g;
      let mine = false;
      for (const x of line.matchAll(m)) if (pids.has(x[1]!)) mine = true;
      if (!mine) continue;
      sockets++;
      const cols = line.trim().split(/\s+/);
      const local = cols[4] ?? "";
      const peerAddr = cols[5] ?? "";
      const loop = (a: string) => a.startsWith("127.0.0.1:") || a === "*" || a === "0.0.0.0:*" || /^127\.0\.0\.1:\*$/.test(a);
      if (!local.startsWith("127.0.0.1:") || !loop(peerAddr)) nonLoopback.push(line.trim());
    }
    return { sockets, nonLoopback };
  }

  /** Peak RSS (VmHWM, MiB) of the instance's working process (the monitor's child), or null. */
  peakRssMiB(i: StInstance): number | null {
    const tree = this.processTree(i);
    const worker = tree.length > 1 ? tree[tree.length - 1]! : tree[0];
    if (worker === undefined) return null;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker}/status`, "utf8"));
      return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
    } catch {
      return null;
    }
  }

  /** Stop both: SIGTERM to the monitor we started, then anything of its tree still running is killed. */
  async stop(): Promise<void> {
    for (const i of [this.a, this.b]) {
      const p = i.proc;
      if (!p) continue;
      const tree = this.processTree(i).slice(1);
      if (p.exitCode === null) {
        p.kill("SIGTERM");
        await Promise.race([p.exited, Bun.sleep(10_000)]);
        if (p.exitCode === null) p.kill("SIGKILL");
        await p.exited;
      }
      for (const pid of tree) {
        for (let k = 0; k < 50 && isSyncthing(pid); k++) await Bun.sleep(100);
        if (isSyncthing(pid)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
      }
    }
  }

  /** Where B's copy of `name` lands, and whether A's/B's homes exist (for cleanup checks). */
  pathIn(i: StInstance, name: string): string {
    return join(i.folder, name);
  }

  exists(): boolean {
    return existsSync(this.a.home) || existsSync(this.b.home);
  }
}
