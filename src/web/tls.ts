/**
 * @module web/tls — the dashboard's TLS certificate: the files config names (tls_cert, tls_key),
 * or one this cell makes for itself (tls_self_signed: ECDSA P-256 from the `selfsigned` package,
 * valid 5 years, kept in GROVE_DIR/tls/ with the key at mode 600). Its SHA-256 fingerprint is
 * printed at start so a browser's warning can be checked against it.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { GroveError, errorMessage } from "../core/errors.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";

export interface TlsFiles {
  cert: string;
  key: string;
  /** SHA-256 of the certificate, colon-separated hex (what browsers show). */
  fingerprint: string;
  selfSigned: boolean;
}

export interface TlsChoice {
  tls_cert: string | null;
  tls_key: string | null;
  tls_self_signed: boolean;
  dashboard_names: readonly string[];
}

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The names and addresses a self-signed certificate covers: loopback, this machine, config names. */
function altNames(names: readonly string[]): ({ type: 2; value: string } | { type: 7; ip: string })[] {
  const dns = new Set(["localhost", hostname(), ...names]);
  const ips = new Set(["127.0.0.1", "::1"]);
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (!i.scopeid) ips.add(i.address);
  return [...[...dns].map((value) => ({ type: 2 as const, value })), ...[...ips].map((ip) => ({ type: 7 as const, ip }))];
}

/** The certificate the dashboard serves, or null for plain HTTP. Made on first use when self-signed. */
export async function dashboardTls(choice: TlsChoice, tlsDir: string): Promise<TlsFiles | null> {
  if (choice.tls_cert && choice.tls_key) {
    try {
      const cert = readFileSync(choice.tls_cert, "utf8");
      const key = readFileSync(choice.tls_key, "utf8");
      return { cert, key, fingerprint: fingerprintOf(cert), selfSigned: false };
    } catch (e) {
      throw new GroveError(`tls_cert/tls_key: cannot use them: ${errorMessage(e)}`, 400, "config");
    }
  }
  if (!choice.tls_self_signed) return null;
  const certPath = join(tlsDir, "dashboard.crt");
  const keyPath = join(tlsDir, "dashboard.key");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, "utf8");
    const x = new X509Certificate(cert);
    if (Date.parse(x.validTo) > Date.now() + 7 * 86400_000)
      return { cert, key: readFileSync(keyPath, "utf8"), fingerprint: x.fingerprint256, selfSigned: true };
  }
  const notAfter = new Date(Date.now() + 5 * 365 * 86400_000);
  // Loaded only here: the package is a large part of a cell's start-up, and most cells never make a certificate.
  const { generate } = await import("selfsigned");
  const made = await generate([{ name: "commonName", value: `grove ${hostname()}`.slice(0, 64) }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notAfterDate: notAfter,
    extensions: [{ name: "subjectAltName", altNames: altNames(choice.dashboard_names) }],
  });
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(keyPath, made.private, 0o600);
  writeFileAtomicSync(certPath, made.cert, 0o644);
  return { cert: made.cert, key: made.private, fingerprint: fingerprintOf(made.cert), selfSigned: true };
}
