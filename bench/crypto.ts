/**
 * bench/crypto.ts — ChaCha20-Poly1305 and SHA-256 throughput of each CipherSuite on one core,
 * 4 MiB buffers (one chunk), with OpenSSL's figure for the same cipher measured in the same run
 * when `openssl` is installed. Target (issue 2): native seal >= 1 GB/s. Also Ed25519 signs and
 * verifies per second of each implementation (a peer call costs one of each on both sides), on a
 * 200-byte message like a request's signed header.
 *
 *   bun bench/crypto.ts [--seconds N]
 */
import { portableSuite, nativeSuiteIfAvailable, chunkNonce, type CipherSuite } from "../src/crypto/index.ts";
import { nativeEd25519IfAvailable, portableEd25519, type Ed25519 } from "../src/crypto/ed25519.ts";

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf("--seconds") + 1]) || 1.5;
const MiB = 1024 * 1024;
const buf = crypto.getRandomValues(new Uint8Array(65536));
const plain = new Uint8Array(4 * MiB);
for (let o = 0; o < plain.length; o += buf.length) plain.set(buf, o);
const key = crypto.getRandomValues(new Uint8Array(32));

function rate(fn: () => void, bytes: number): number {
  fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    fn();
    n++;
  }
  return (n * bytes) / ((performance.now() - t0) / 1000) / 1e6;
}

function measure(s: CipherSuite) {
  const sealed = s.seal(key, chunkNonce(0), plain);
  return {
    suite: s.name,
    seal_mb_s: rate(() => s.seal(key, chunkNonce(1), plain), plain.length),
    open_mb_s: rate(() => s.open(key, chunkNonce(0), sealed), plain.length),
    sha256_mb_s: rate(() => s.sha256(sealed), sealed.length),
  };
}

/** Operations per second of `fn` (same loop as `rate`, one op per call). */
function opsPerSec(fn: () => void): number {
  return rate(fn, 1e6);
}

function measureSigs(impl: Ed25519) {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const msg = crypto.getRandomValues(new Uint8Array(200));
  const pub = impl.publicKey(seed);
  const sig = impl.sign(seed, msg);
  return { impl: impl.name, sign_per_s: opsPerSec(() => impl.sign(seed, msg)), verify_per_s: opsPerSec(() => impl.verify(sig, msg, pub)) };
}

function opensslMbS(): number | null {
  try {
    const p = Bun.spawnSync(["openssl", "speed", "-seconds", "2", "-bytes", String(4 * MiB), "-evp", "chacha20-poly1305"], {
      stderr: "pipe",
    });
    const line = p.stdout
      .toString()
      .split("\n")
      .find((l) => /^chacha20-poly1305/i.test(l));
    const kbs = line?.trim().split(/\s+/).pop()?.replace(/k$/, "");
    return kbs ? (Number(kbs) * 1000) / 1e6 : null;
  } catch {
    return null;
  }
}

const rows = [measure(portableSuite)];
const native = nativeSuiteIfAvailable();
if (native) rows.push(measure(native));
else console.log("native suite: not available on this platform (libsodium addon did not load)");
const openssl = opensslMbS();

console.log(`crypto, one core, 4 MiB buffers (${seconds}s each)`);
console.log("suite      seal MB/s   open MB/s   sha256 MB/s");
for (const r of rows)
  console.log(
    `${r.suite.padEnd(9)} ${r.seal_mb_s.toFixed(0).padStart(10)} ${r.open_mb_s.toFixed(0).padStart(11)} ${r.sha256_mb_s.toFixed(0).padStart(13)}`,
  );
if (openssl) console.log(`openssl    ${openssl.toFixed(0).padStart(10)}   (openssl speed -evp chacha20-poly1305, same run)`);
const n = rows.find((r) => r.suite === "native");
if (n)
  console.log(
    `native/portable seal: ${(n.seal_mb_s / rows[0]!.seal_mb_s).toFixed(1)}x; target native seal >= 1000 MB/s: ${n.seal_mb_s >= 1000 ? "met" : "NOT met"}`,
  );
const nativeSigs = nativeEd25519IfAvailable();
const sigRows = [measureSigs(portableEd25519), ...(nativeSigs ? [measureSigs(nativeSigs)] : [])];
console.log("ed25519    signs/s   verifies/s");
for (const r of sigRows)
  console.log(`${r.impl.padEnd(9)} ${r.sign_per_s.toFixed(0).padStart(8)} ${r.verify_per_s.toFixed(0).padStart(12)}`);
if (sigRows.length === 2)
  console.log(
    `native/portable: sign ${(sigRows[1]!.sign_per_s / sigRows[0]!.sign_per_s).toFixed(1)}x, verify ${(sigRows[1]!.verify_per_s / sigRows[0]!.verify_per_s).toFixed(1)}x`,
  );
console.log(JSON.stringify({ bench: "crypto", rows, ed25519: sigRows, openssl_mb_s: openssl }));
