/**
 * @module update/release-store — the executables this cell offers to its peers:
 * GROVE_DIR/releases/<target>/{grove, sig.json}, one per platform, plus releases/tmp for
 * downloads in progress. Any platform may be held (an x64 cell can serve a Pi).
 *
 * An entry is listed when its sig.json parses and the executable beside it has the size the
 * sig.json states; whether to trust it is the receiver's decision (update/release-sig).
 * Replacing an entry removes its sig.json first and writes it last, so a reader never sees
 * the new bytes under the old signature (at worst the entry is briefly missing).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomicSync, fsyncDir } from "../core/atomic.ts";
import { log } from "../core/log.ts";
import { checkDigest, fileDigest, parseOfferedSig, ReleaseRefused, signedBy, type OfferedSig, type ReleaseSig } from "./release-sig.ts";

export const RELEASE_FILE = "grove";
/** GROVE_DIR/releases. */
export const releasesDir = (groveDir: string) => join(groveDir, "releases");
export const SIG_FILE = "sig.json";

/** One executable this cell holds. */
export interface ReleaseEntry {
  target: string;
  sig: OfferedSig;
  /** Path of the executable. */
  path: string;
}

/** What a peer sees of an entry (GET /peer/update/releases). */
export interface ReleaseOffer {
  target: string;
  build: string;
  build_time: string;
  size: number;
  sha256: string;
  sig: OfferedSig;
}

export function toOffer(e: ReleaseEntry): ReleaseOffer {
  return { target: e.target, build: e.sig.build, build_time: e.sig.build_time, size: e.sig.size, sha256: e.sig.sha256, sig: e.sig };
}

export class ReleaseStore {
  /** Where downloads are assembled (same file system as the entries, so they can be renamed in). */
  readonly tmp: string;

  constructor(readonly dir: string) {
    this.tmp = join(dir, "tmp");
  }

  /** Every entry with a readable sig.json and an executable of the stated size. */
  list(): ReleaseEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch {
      return [];
    }
    const out: ReleaseEntry[] = [];
    for (const name of names) {
      if (name === "tmp" || name.startsWith(".")) continue;
      const e = this.get(name);
      if (e) out.push(e);
    }
    return out;
  }

  /** The platforms this cell can serve. */
  targets(): string[] {
    return this.list().map((e) => e.target);
  }

  get(target: string): ReleaseEntry | null {
    const dir = join(this.dir, target);
    const path = join(dir, RELEASE_FILE);
    try {
      const sig = parseOfferedSig(readFileSync(join(dir, SIG_FILE), "utf8"));
      if (sig.target !== target) return null;
      if (statSync(path).size !== sig.size) return null;
      return { target, sig, path };
    } catch {
      return null;
    }
  }

  /**
   * Hold `file` as the release `sig` describes. The signature must verify by the key it names
   * and the bytes must match it (ReleaseRefused otherwise). `move` renames the file in (it must
   * be on this file system, e.g. in `tmp`) instead of copying it.
   */
  async add(file: string, sig: ReleaseSig, opts: { move?: boolean; verified?: boolean } = {}): Promise<ReleaseEntry> {
    if (!signedBy(sig)) throw new ReleaseRefused(`build ${sig.build.slice(0, 12)} for ${sig.target}: the signature does not verify`);
    if (!opts.verified) checkDigest(sig, await fileDigest(file));
    const dir = join(this.dir, sig.target);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const staged = join(dir, `.${RELEASE_FILE}.new-${randomBytes(6).toString("hex")}`);
    try {
      if (opts.move) renameSync(file, staged);
      else copyFileSync(file, staged);
      chmodSync(staged, 0o755);
      rmSync(join(dir, SIG_FILE), { force: true });
      renameSync(staged, join(dir, RELEASE_FILE));
      fsyncDir(dir);
      writeFileAtomicSync(join(dir, SIG_FILE), JSON.stringify(sig, null, 2) + "\n", 0o644);
    } finally {
      rmSync(staged, { force: true });
    }
    log("info", "release held", { target: sig.target, build: sig.build.slice(0, 12), build_time: sig.build_time });
    return { target: sig.target, sig, path: join(dir, RELEASE_FILE) };
  }

  /** Stop offering `target` (e.g. a build that was rolled back here). */
  remove(target: string): void {
    const dir = join(this.dir, target);
    rmSync(join(dir, SIG_FILE), { force: true });
    rmSync(join(dir, RELEASE_FILE), { force: true });
  }

  /** A fresh path in `tmp` for a download. */
  tmpPath(label: string): string {
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    return join(this.tmp, `${label}-${randomBytes(6).toString("hex")}.part`);
  }

  /** Remove leftovers of interrupted downloads. */
  clearTmp(): void {
    if (existsSync(this.tmp)) rmSync(this.tmp, { recursive: true, force: true });
  }
}
