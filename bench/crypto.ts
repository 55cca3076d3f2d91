/**
 * bench/crypto.ts — ChaCha20-Poly1305 and SHA-256 throughput of each CipherSuite on one core,
 * 4 MiB buffers (one chunk), with OpenSSL's figure for the same cipher measured in the same run
 * when `openssl` is installed. Target (issue 2): native seal >= 1 GB/s.
 *
 *   bun bench/crypto.ts [--seconds N]
 */
import { portableSuite, nativeSuiteIfAvailable, chunkNonce, type CipherSuite } from "../src/crypto/index.ts";

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

function opensslMbS(): number | null {
  try {
    const p = Bun.spawnSync(["openssl", "speed", "-seconds", "2", "-bytes", String(4 * MiB), "-evp", "chacha20-poly1305"], { stderr: "pipe" });
    const line = p.stdout.toString().split("\n").find((l) => /^chacha20-poly1305/i.test(l));
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
for (const r of rows) console.log(`${r.suite.padEnd(9)} ${r.seal_mb_s.toFixed(0).padStart(10)} ${r.open_mb_s.toFixed(0).padStart(11)} ${r.sha256_mb_s.toFixed(0).padStart(13)}`);
if (openssl) console.log(`openssl    ${openssl.toFixed(0).padStart(10)}   (openssl speed -evp chacha20-poly1305, same run)`);
const n = rows.find((r) => r.suite === "native");
if (n) console.log(`native/portable seal: ${(n.seal_mb_s / rows[0]!.seal_mb_s).toFixed(1)}x; target native seal >= 1000 MB/s: ${n.seal_mb_s >= 1000 ? "met" : "NOT met"}`);
console.log(JSON.stringify({ bench: "crypto", rows, openssl_mb_s: openssl }));
