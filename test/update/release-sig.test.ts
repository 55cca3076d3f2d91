/**
 * sig.json signing and verification (update/release-sig), the release store
 * (update/release-store) and the updater's choice of offers (update/updater) — no executables.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson } from "../../src/core/canonical-json.ts";
import { fromHex, toHex, type CellId } from "../../src/core/types.ts";
import { sign, verify } from "../../src/crypto/keys.ts";
import {
  checkDigest,
  checkTrusted,
  fileDigest,
  generateReleaseKey,
  isNewerTime,
  loadReleaseKey,
  parseOfferedSig,
  ReleaseRefused,
  releasePublicKey,
  signedBy,
  signRelease,
  type ReleaseFacts,
} from "../../src/update/release-sig.ts";
import { ReleaseStore, toOffer } from "../../src/update/release-store.ts";
import { newerThan, Updater, type UpdaterHost } from "../../src/update/updater.ts";
import { readAvailable } from "../../src/update/update-state.ts";

const root = mkdtempSync(join(tmpdir(), "grove-release-sig-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const facts: ReleaseFacts = {
  target: "linux-arm64",
  build: "ab".repeat(32),
  build_time: "2026-01-02T03:04:05Z",
  size: 11,
  sha256: "cd".repeat(32),
};

describe("sig.json", () => {
  const { secret, publicHex } = generateReleaseKey();

  test("is signed over the canonical JSON of every other field, by the key it names", () => {
    const sig = signRelease(secret, facts);
    expect(sig).toMatchObject({ v: 1, ...facts, key: publicHex });
    const { signature, ...rest } = sig;
    expect(verify(fromHex(signature), new TextEncoder().encode(canonicalJson(rest)), fromHex(publicHex))).toBe(true);
    expect(signedBy(sig)).toEqual(sig);
    expect(checkTrusted(sig, [publicHex])).toEqual(sig);
    expect(checkTrusted(sig, [publicHex.toUpperCase()])).toEqual(sig);
  });

  test("a changed field, a missing signature or another key is refused with the reason", () => {
    const sig = signRelease(secret, facts);
    expect(() => checkTrusted({ ...sig, size: 12 }, [publicHex])).toThrow(/signature does not verify/);
    expect(() => checkTrusted({ ...sig, build_time: "2027-01-01T00:00:00Z" }, [publicHex])).toThrow(/signature does not verify/);
    const { signature: _s, ...unsigned } = sig;
    expect(() => checkTrusted(parseOfferedSig(unsigned), [publicHex])).toThrow(/unsigned/);
    const other = generateReleaseKey();
    expect(() => checkTrusted(signRelease(other.secret, facts), [publicHex])).toThrow(/not in trusted_release_keys/);
    expect(() => checkTrusted(sig, [])).toThrow(/no trusted_release_keys/);
    // Someone else's signature under our key id.
    expect(() => checkTrusted({ ...signRelease(other.secret, facts), key: publicHex }, [publicHex])).toThrow(/does not verify/);
    expect(() => checkTrusted(sig, [publicHex])).not.toThrow();
    try {
      checkTrusted({ ...sig, sha256: "ef".repeat(32) }, [publicHex]);
    } catch (e) {
      expect(e).toBeInstanceOf(ReleaseRefused);
      expect((e as ReleaseRefused).status).toBe(422);
    }
  });

  test("malformed sig.json is refused naming the field", () => {
    expect(() => parseOfferedSig("{")).toThrow(/not valid JSON/);
    expect(() => parseOfferedSig({ ...signRelease(secret, facts), build: "xyz" })).toThrow(/build/);
  });

  test("a newer build's sig.json with fields this build does not know: accepted, and its signature covers them", () => {
    const { signature: _s, ...unsigned } = signRelease(secret, facts);
    const newer = { ...unsigned, notes: "faster sync" };
    const signed = { ...newer, signature: toHex(sign(secret, new TextEncoder().encode(canonicalJson(newer)))) };
    const parsed = parseOfferedSig(JSON.stringify(signed));
    expect(signedBy(parsed)).not.toBeNull();
    expect((signedBy(parsed) as unknown as Record<string, unknown>).notes).toBe("faster sync");
    expect(signedBy(parseOfferedSig({ ...signed, notes: "slower" }))).toBeNull(); // altered after signing
    expect(signedBy(parseOfferedSig({ ...signRelease(secret, facts), extra: 1 }))).toBeNull(); // added after signing
  });

  test("file digests: the bytes must be the ones signed", async () => {
    const file = join(root, "exe");
    writeFileSync(file, "hello grove");
    const d = await fileDigest(file);
    expect(d.size).toBe(11);
    const sig = signRelease(secret, { ...facts, ...d });
    expect(() => checkDigest(sig, d)).not.toThrow();
    writeFileSync(file, "hello grovf");
    expect(() => checkDigest(sig, { size: 11, sha256: "00".repeat(32) })).toThrow(/does not match its signature/);
    expect(() => checkDigest(sig, { size: 10, sha256: d.sha256 })).toThrow(/10 bytes/);
  });

  test("release keys load from hex or from a key file", () => {
    const path = join(root, "release.key");
    writeFileSync(path, toHex(secret) + "\n", { mode: 0o600 });
    expect(releasePublicKey(loadReleaseKey(path))).toBe(publicHex);
    expect(releasePublicKey(loadReleaseKey(toHex(secret)))).toBe(publicHex);
    expect(() => loadReleaseKey(join(root, "nope"))).toThrow(/no such file/);
  });

  test("build times compare as times; an unknown time is never newer", () => {
    expect(isNewerTime("2026-01-02T00:00:00Z", "2026-01-01T23:59:59Z")).toBe(true);
    expect(isNewerTime("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z")).toBe(false);
    expect(isNewerTime(null, "2026-01-01T00:00:00Z")).toBe(false);
  });
});

describe("release store", () => {
  const { secret } = generateReleaseKey();

  test("holds an executable per platform, refusing bytes that do not match", async () => {
    const store = new ReleaseStore(join(root, "releases"));
    const file = join(root, "pi-grove");
    writeFileSync(file, "arm64 bytes!");
    const sig = signRelease(secret, { ...facts, ...(await fileDigest(file)) });
    const e = await store.add(file, sig);
    expect(statSync(e.path).mode & 0o777).toBe(0o755);
    expect(store.targets()).toEqual(["linux-arm64"]);
    expect(toOffer(store.get("linux-arm64")!)).toMatchObject({ target: "linux-arm64", build: facts.build, size: 12 });
    await expect(store.add(file, { ...sig, sha256: "00".repeat(32) })).rejects.toThrow(/signature does not verify/);
    writeFileSync(file, "arm64 bytes?");
    await expect(store.add(file, sig)).rejects.toThrow(/does not match its signature/);
    expect(readFileSync(e.path, "utf8")).toBe("arm64 bytes!");
    // A sig.json whose size disagrees with the file is not listed.
    mkdirSync(join(store.dir, "linux-x64"), { recursive: true });
    writeFileSync(join(store.dir, "linux-x64", "grove"), "x");
    writeFileSync(join(store.dir, "linux-x64", "sig.json"), JSON.stringify({ ...sig, target: "linux-x64" }));
    expect(store.targets()).toEqual(["linux-arm64"]);
    store.remove("linux-arm64");
    expect(store.targets()).toEqual([]);
  });
});

describe("updater: which offer counts", () => {
  const trusted = generateReleaseKey();
  const stranger = generateReleaseKey();
  const self = { build: "11".repeat(32), build_time: "2026-01-01T00:00:00Z", target: "linux-x64", exe: "/nonexistent/grove" };
  const offer = (key: Uint8Array, build: string, time: string, target = "linux-x64") =>
    signRelease(key, { target, build, build_time: time, size: 100, sha256: "ee".repeat(32) });
  const peerA = "aa".repeat(32) as CellId;
  const peerB = "bb".repeat(32) as CellId;

  function host(lists: Record<string, unknown[]>, dir: string): UpdaterHost {
    return {
      dir,
      store: new ReleaseStore(join(dir, "releases")),
      self,
      trustedKeys: () => [trusted.publicHex],
      autoUpdate: () => false,
      peers: () => [
        { id: peerA, name: "a", targets: ["linux-x64"] },
        { id: peerB, name: "b", targets: [] },
      ],
      routeOf: (id) => `http://127.0.0.1:1/${id}`,
      get: async (_url, peer) => ({
        status: 200,
        body: new TextEncoder().encode(
          JSON.stringify({ releases: (lists[peer] ?? []).map((sig) => ({ target: (sig as { target: string }).target, sig })) }),
        ),
      }),
    };
  }

  test("the newest trusted build for our platform wins; older, other platforms and untrusted ones do not", async () => {
    const dir = mkdtempSync(join(root, "u-"));
    const lists = {
      [peerA]: [
        offer(trusted.secret, "22".repeat(32), "2026-02-01T00:00:00Z"),
        offer(trusted.secret, "99".repeat(32), "2026-09-01T00:00:00Z", "linux-arm64"),
      ],
      [peerB]: [offer(trusted.secret, "33".repeat(32), "2026-03-01T00:00:00Z")],
    };
    const u = new Updater(host(lists, dir));
    // The periodic check asks only peers whose card lists our platform.
    let c = await u.check();
    expect(c.available?.build).toBe("22".repeat(32));
    expect(readAvailable(dir)?.build).toBe("22".repeat(32));
    // An explicit check asks everyone: b's build is newer.
    c = await u.check({ all: true });
    expect(c.available?.build).toBe("33".repeat(32));
    expect(c.available?.peer).toBe(peerB);
    expect(newerThan(c.available, { ...self, build: "33".repeat(32) })).toBeNull();
    expect(newerThan(c.available, { ...self, build_time: "2026-04-01T00:00:00Z" })).toBeNull();

    const older = new Updater(host({ [peerA]: [offer(trusted.secret, "44".repeat(32), "2025-12-31T00:00:00Z")] }, dir));
    expect((await older.check({ all: true })).available).toBeNull();
    expect(readAvailable(dir)).toBeNull();
  });

  test("untrusted and unsigned offers are refused with the reason, and perform says so", async () => {
    const dir = mkdtempSync(join(root, "u-"));
    const { signature: _s, key: _k, ...unsigned } = offer(trusted.secret, "55".repeat(32), "2026-05-01T00:00:00Z");
    const u = new Updater(host({ [peerA]: [offer(stranger.secret, "66".repeat(32), "2026-06-01T00:00:00Z")], [peerB]: [unsigned] }, dir));
    const c = await u.check({ all: true });
    expect(c.available).toBeNull();
    expect(c.refused.map((r) => r.reason).sort()).toEqual([
      expect.stringMatching(/^build 555555555555 .* is unsigned/),
      expect.stringMatching(/is signed by release key .* not in trusted_release_keys/),
    ]);
    await expect(u.perform()).rejects.toThrow(/offers build .*(unsigned|not in trusted_release_keys).*nothing was changed/);
  });

  test("from source there is nothing to install: a clear error", async () => {
    const dir = mkdtempSync(join(root, "u-"));
    const u = new Updater({ ...host({}, dir), self: { ...self, exe: null } });
    expect((await u.check()).note).toMatch(/runs from a checkout: update it with git/);
    await expect(u.perform()).rejects.toThrow(/runs from a checkout: update it with git/);
  });
});
