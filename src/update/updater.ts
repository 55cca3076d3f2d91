/**
 * @module update/updater — noticing newer builds on peers and installing one.
 *
 * Check: ask peers (GET /peer/update/releases) what they hold for this cell's platform; an
 * offer counts when its build_time is newer than ours and its sig.json is signed by one of
 * `trusted_release_keys` (others are reported as refused, with the reason, and logged once).
 * The newest one is recorded in update-available.json (the dashboard and `grove status` show
 * it). Periodic checks (after each sync round) ask only peers whose card lists our platform;
 * an explicit check (`grove update --check`) asks every peer.
 *
 * Perform: download the offer from its peer in signed ranges into releases/tmp, check size,
 * sha256 and signature against trusted keys, then update/swap installs it (test-start, keep
 * `<exe>.previous`, atomic rename, update.json "pending"). The verified file becomes this
 * cell's own offer for its platform. The host's `swapped` then restarts the cell (update/lifecycle).
 * Anything refused leaves everything as it was, with a log line and a one-line error.
 */
import { sha256 } from "../core/sha256.ts";
import { chmodSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { z } from "zod";
import { GroveError, conflict, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import { checkDigest, checkTrusted, isNewerTime, parseOfferedSig, ReleaseRefused, type OfferedSig } from "./release-sig.ts";
import type { ReleaseStore } from "./release-store.ts";
import { installBuild } from "./swap.ts";
import { readAvailable, readUpdateRecord, writeAvailable, type UpdateAvailable } from "./update-state.ts";
import { shortId } from "../core/format.ts";

/** Bytes per download request (each answer is signed whole by the peer API; a relay carries up to 17 MiB). */
export const RANGE_BYTES = 8 * 1024 * 1024;

/** The build this cell runs. */
export interface SelfBuild {
  build: string;
  build_time: string | null;
  target: string;
  /** The running executable; null when run from source (no self-update). */
  exe: string | null;
}

export interface PeerInfo {
  id: CellId;
  name: string;
  /** Platforms its card says it serves (undefined: an older card that does not say). */
  targets?: string[];
}

/** A signed peer call's raw answer. */
export interface PeerReply {
  status: number;
  body: Uint8Array;
}

/** What the updater needs of the cell (web-free; see `fleetHost` in update/lifecycle). */
export interface UpdaterHost {
  /** GROVE_DIR. */
  dir: string;
  store: ReleaseStore;
  self: SelfBuild;
  trustedKeys(): readonly string[];
  autoUpdate(): boolean;
  peers(): PeerInfo[];
  routeOf(peer: CellId): string | null;
  /** A signed GET to a peer; throws when it cannot be reached or the answer does not verify. */
  get(url: string, peer: CellId, path: string, timeoutMs: number): Promise<PeerReply>;
  /** A new build was swapped in (the cell then restarts into it: update/lifecycle). */
  swapped?(s: UpdateStarted): void;
}

export interface Refusal {
  peer: string;
  peer_name: string;
  build: string;
  build_time: string;
  reason: string;
}

export interface UpdateCheck {
  current: { build: string; build_time: string | null; target: string; compiled: boolean };
  available: UpdateAvailable | null;
  /** Newer builds offered but refused (unsigned, untrusted, forged). */
  refused: Refusal[];
  /** Peers that answered. */
  asked: number;
  /** Why nothing can be installed here, when that is the case. */
  note?: string;
}

export interface UpdateStarted {
  state: "restarting";
  from: string;
  to: string;
  build_time: string;
  peer: string;
}

export interface Progress {
  phase: string;
  done: number;
  total: number;
}

const ReleasesReply = z.object({ releases: z.array(z.object({ target: z.string(), sig: z.unknown() }).passthrough()).max(64) });

/** `a` when it is still an update for `self` (same platform, another and newer build), else null. */
export function newerThan(a: UpdateAvailable | null, self: Pick<SelfBuild, "build" | "build_time" | "target">): UpdateAvailable | null {
  if (!a || a.target !== self.target || a.build === self.build || !self.build_time || !isNewerTime(a.build_time, self.build_time))
    return null;
  return a;
}

const FROM_SOURCE = "this cell runs from a checkout: update it with git (git pull), not grove update";

export class Updater {
  private busy = false;
  private checking: Promise<UpdateCheck> | null = null;
  private warned = new Set<string>();
  /** The swap that happened; the cell restarts into it. */
  swapped: UpdateStarted | null = null;
  /** Called once a new build is swapped in (update/lifecycle restarts the cell). */

  constructor(readonly host: UpdaterHost) {}

  get updating(): boolean {
    return this.busy;
  }

  /** Ask peers what they offer; concurrent callers share a check in progress. `all` asks every peer, not only those whose card lists our platform. */
  check(opts: { all?: boolean } = {}): Promise<UpdateCheck> {
    this.checking ??= this.doCheck(opts.all ?? false).finally(() => (this.checking = null));
    return this.checking;
  }

  private current(): UpdateCheck["current"] {
    const s = this.host.self;
    return { build: s.build, build_time: s.build_time, target: s.target, compiled: s.exe !== null };
  }

  private async doCheck(all: boolean): Promise<UpdateCheck> {
    const self = this.host.self;
    const result: UpdateCheck = { current: this.current(), available: null, refused: [], asked: 0 };
    if (!self.exe || !self.build_time) return { ...result, note: FROM_SOURCE };
    const trusted = this.host.trustedKeys();
    const last = readUpdateRecord(this.host.dir);
    const failedHere = last?.state === "rolled-back" ? last : null;
    const candidates = this.host.peers().filter((p) => all || (p.targets?.includes(self.target) ?? false));
    const offers: { peer: PeerInfo; sig: OfferedSig }[] = [];
    await Promise.all(
      candidates.map(async (peer) => {
        const url = this.host.routeOf(peer.id);
        if (!url) return;
        let list: z.infer<typeof ReleasesReply>;
        try {
          const r = await this.host.get(url, peer.id, "/peer/update/releases", 10_000);
          if (r.status !== 200) return; // an older cell without the update API answers 404
          list = ReleasesReply.parse(JSON.parse(new TextDecoder().decode(r.body)));
        } catch (e) {
          log("info", "update check: peer did not answer", { peer: shortId(peer.id), why: errorMessage(e) });
          return;
        }
        result.asked++;
        for (const rel of list.releases) {
          if (rel.target !== self.target) continue;
          let sig: OfferedSig;
          try {
            sig = parseOfferedSig(rel.sig);
          } catch (e) {
            this.refuse(result, peer, { build: "(unknown)", build_time: "(unknown)" }, errorMessage(e));
            continue;
          }
          if (sig.target !== self.target || sig.build === self.build || !isNewerTime(sig.build_time, self.build_time)) continue;
          try {
            checkTrusted(sig, trusted);
            if (failedHere?.to === sig.build)
              throw new ReleaseRefused(
                `build ${sig.build.slice(0, 12)} for ${sig.target}, which did not come up here before and was rolled back (${failedHere.reason ?? "no reason recorded"}); remove ${this.host.dir}/update.json to try it again`,
              );
            offers.push({ peer, sig });
          } catch (e) {
            this.refuse(result, peer, sig, errorMessage(e));
          }
        }
      }),
    );
    offers.sort((a, b) => Date.parse(b.sig.build_time) - Date.parse(a.sig.build_time));
    const best = offers[0];
    if (best) {
      const prev = readAvailable(this.host.dir);
      result.available = {
        v: 1,
        peer: best.peer.id,
        peer_name: best.peer.name,
        target: best.sig.target,
        build: best.sig.build,
        build_time: best.sig.build_time,
        size: best.sig.size,
        sig: best.sig,
        current_build: self.build,
        current_build_time: self.build_time,
        seen_at: prev?.build === best.sig.build ? prev.seen_at : new Date().toISOString(),
      };
      if (prev?.build !== best.sig.build)
        log("info", `update available: build ${best.sig.build.slice(0, 12)} (${best.sig.build_time}) from ${best.peer.name}`, {
          peer: shortId(best.peer.id),
        });
    }
    // A check that reached nobody says nothing new: keep what was noticed before.
    if (result.asked > 0 || candidates.length === 0) writeAvailable(this.host.dir, result.available);
    else result.available = this.stillNewer(readAvailable(this.host.dir));
    return result;
  }

  private refuse(result: UpdateCheck, peer: PeerInfo, sig: Pick<OfferedSig, "build" | "build_time">, reason: string): void {
    result.refused.push({ peer: peer.id, peer_name: peer.name, build: sig.build, build_time: sig.build_time, reason });
    const key = `${peer.id}:${sig.build}:${reason}`;
    if (!this.warned.has(key)) {
      this.warned.add(key);
      log("warn", `update refused: ${peer.name} (${shortId(peer.id)}) offers ${reason}`);
    }
  }

  private stillNewer(a: UpdateAvailable | null): UpdateAvailable | null {
    return newerThan(a, this.host.self);
  }

  /** The offer recorded by the last check (null when none, or no longer newer). */
  available(): UpdateAvailable | null {
    return this.stillNewer(readAvailable(this.host.dir));
  }

  /** After a sync round: check (peers whose card lists our platform); with auto_update, install. */
  async afterRound(): Promise<void> {
    if (!this.host.self.exe || this.busy || this.swapped) return;
    const c = await this.check();
    if (!c.available || !this.host.autoUpdate()) return;
    const last = readUpdateRecord(this.host.dir);
    if (last?.state === "rolled-back" && last.to === c.available.build) return; // failed here before: only by hand
    log("info", `auto_update: installing build ${c.available.build.slice(0, 12)} from ${c.available.peer_name}`);
    await this.perform().catch((e) => log("error", `auto_update failed: ${errorMessage(e)}`));
  }

  /**
   * Download, verify and swap in the newest trusted build a peer offers. Resolves once the new
   * executable is in place (the restart follows, see the host's `swapped`). Throws a GroveError: 400
   * from source, 409 when up to date or busy, 422 (ReleaseRefused) when the build is refused.
   */
  async perform(onProgress?: (p: Progress) => void, checked?: UpdateCheck): Promise<UpdateStarted> {
    const { self, dir, store } = this.host;
    this.ready();
    this.busy = true;
    try {
      const a = this.pick(checked ?? (await this.check({ all: true })));
      const exe = self.exe!;
      const sig = checkTrusted(a.sig, this.host.trustedKeys());
      const url = this.host.routeOf(a.peer as CellId);
      if (!url) throw new GroveError(`cell ${shortId(a.peer)} is no longer a peer`, 409, "no_peer");
      const part = store.tmpPath(`${sig.target}-${sig.build.slice(0, 12)}`);
      try {
        const got = await this.download(url, a.peer as CellId, sig, part, onProgress);
        checkDigest(sig, got);
        chmodSync(part, 0o755);
        onProgress?.({ phase: "install", done: 0, total: 0 });
        await installBuild({ file: part, sig, exe, dir, from: self.build, peer: a.peer });
        try {
          await store.add(part, sig, { move: true, verified: true }); // ours to offer onward now
        } catch (e) {
          log("warn", `update: could not keep the new build in releases/: ${errorMessage(e)}`);
        }
        writeAvailable(dir, null);
        const started: UpdateStarted = { state: "restarting", from: self.build, to: sig.build, build_time: sig.build_time, peer: a.peer };
        this.swapped = started;
        log("info", `update: build ${sig.build.slice(0, 12)} (${sig.build_time}) installed from ${a.peer_name}; restarting`);
        this.host.swapped?.(started);
        return started;
      } catch (e) {
        if (e instanceof ReleaseRefused)
          log("error", `update refused: ${e.message}; nothing was changed`, { peer: shortId(a.peer), build: sig.build.slice(0, 12) });
        else log("error", `update failed: ${errorMessage(e)}; nothing was changed`, { peer: shortId(a.peer) });
        throw e;
      } finally {
        rmSync(part, { force: true });
      }
    } finally {
      this.busy = false;
    }
  }

  /** Throws when this cell cannot start an update now: run from source (400), busy or restarting (409). */
  ready(): void {
    if (!this.host.self.exe) throw new GroveError(FROM_SOURCE, 400, "from_source");
    if (this.swapped) throw conflict(`build ${this.swapped.to.slice(0, 12)} is already swapped in; the cell is restarting`);
    if (this.busy) throw conflict("an update is already in progress");
  }

  /** The offer a check found, or the reason there is none: 409 up to date, 422 (ReleaseRefused) when newer builds were all refused. */
  pick(c: UpdateCheck): UpdateAvailable {
    if (c.available) return c.available;
    const self = this.host.self;
    const r = c.refused[0];
    if (r) {
      log("error", `update refused: ${r.peer_name} offers ${r.reason}; nothing was changed`);
      throw new ReleaseRefused(`${r.peer_name} (${shortId(r.peer)}) offers ${r.reason}; nothing was changed`);
    }
    if (c.note) throw new GroveError(c.note, 400, "from_source");
    throw new GroveError(
      `up to date: no peer offers a build for ${self.target} newer than ${self.build.slice(0, 12)} (${self.build_time})`,
      409,
      "up_to_date",
    );
  }

  /** Fetch the executable in signed ranges into `part`; returns its size and sha256. */
  private async download(
    url: string,
    peer: CellId,
    sig: OfferedSig,
    part: string,
    onProgress?: (p: Progress) => void,
  ): Promise<{ size: number; sha256: string }> {
    const fh = await open(part, "w", 0o600);
    const h = sha256();
    let done = 0;
    try {
      while (done < sig.size) {
        const len = Math.min(RANGE_BYTES, sig.size - done);
        const path = `/peer/update/release/${sig.target}?build=${sig.build}&offset=${done}&length=${len}`;
        const r = await this.host.get(url, peer, path, 120_000);
        if (r.status !== 200) throw new GroveError(`download from ${shortId(peer)} failed: ${refusal(r.body)} (${r.status})`, 502, "peer");
        if (r.body.byteLength !== len)
          throw new ReleaseRefused(`the peer sent ${r.body.byteLength} bytes at offset ${done}, ${len} were asked for`);
        h.update(r.body);
        let off = 0;
        while (off < r.body.byteLength) off += (await fh.write(r.body, off, r.body.byteLength - off)).bytesWritten;
        done += len;
        onProgress?.({ phase: "download", done, total: sig.size });
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { size: done, sha256: h.digest("hex") };
  }
}

function refusal(body: Uint8Array): string {
  try {
    return String((JSON.parse(new TextDecoder().decode(body)) as { error?: unknown }).error ?? "refused");
  } catch {
    return "refused";
  }
}
