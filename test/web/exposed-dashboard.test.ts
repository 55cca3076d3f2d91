/**
 * Serving the dashboard beyond loopback is explicit: it needs a password first, and uses TLS
 * (here the built-in self-signed certificate, whose fingerprint is printed) or warns at every
 * start. The sockets are bound to every interface; the test talks to them over loopback only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { destroyCell, FROM_SOURCE, runGrove, startCell, type TestCell } from "../helpers/cell.ts";

let c: TestCell;
beforeAll(async () => {
  c = await startCell({ config: { watch_home: false } });
  await c.stop();
});
afterAll(() => destroyCell(c));

function setConfig(extra: Record<string, unknown>): void {
  const p = join(c.dir, "config.json");
  writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), ...extra }, null, 2));
}

/** The SHA-256 fingerprint of the certificate a TLS server on 127.0.0.1:port presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on("error", reject);
  });
}

describe("a dashboard beyond loopback", () => {
  test("without a password the cell refuses to start, and says what to do", async () => {
    const r = await runGrove(FROM_SOURCE, ["start", "--host", "0.0.0.0", "--port", "0", "--peer-port", "0"], c.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("would be reachable from other machines before it has a password: set one first with `grove password`");
  });

  test("with a password and no TLS: it starts, and warns at every start", async () => {
    expect((await runGrove(FROM_SOURCE, ["password"], c.env, { stdin: "a-long-password\n" })).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const d = await startCell({ root: c.root, listen: { host: "127.0.0.1", port: 0 }, args: ["--host", "0.0.0.0"] });
      try {
        expect(d.output()).toContain("WARNING: the dashboard listens on 0.0.0.0 over plain HTTP");
        const st = (await (await d.api("/api/status")).json()) as { listening: { dashboard: { public: boolean; tls: boolean } } };
        expect(st.listening.dashboard).toMatchObject({ public: true, tls: false });
      } finally {
        await d.stop();
      }
    }
  });

  test("tls_self_signed: HTTPS with the printed fingerprint; the CLI works; no warning", async () => {
    setConfig({ tls_self_signed: true });
    const d = await startCell({ root: c.root, listen: { host: "127.0.0.1", port: 0 }, args: ["--host", "0.0.0.0"] });
    try {
      expect(d.url).toStartWith("https://127.0.0.1:");
      const printed = /Dashboard TLS: self-signed certificate, SHA-256 ([0-9A-F:]{95})/.exec(d.output())?.[1];
      expect(printed).toBeDefined();
      expect(await servedFingerprint(d.port)).toBe(printed!);
      expect(d.output()).not.toContain("WARNING");
      const st = await d.cli(["status", "--json"]);
      expect(st.code).toBe(0);
      expect(JSON.parse(st.stdout).listening.dashboard).toMatchObject({ public: true, tls: true, fingerprint: printed });
      // Plain HTTP on the TLS port gets no dashboard.
      const plain = await fetch(`http://127.0.0.1:${d.port}/login`).then(
        (r) => r.status,
        () => 0,
      );
      expect(plain === 0 || plain >= 400).toBe(true);
    } finally {
      await d.stop();
    }
    // The same certificate at the next start.
    const e = await startCell({ root: c.root, listen: { host: "127.0.0.1", port: 0 }, args: ["--host", "0.0.0.0"] });
    try {
      expect(e.output()).toContain(/SHA-256 ([0-9A-F:]{95})/.exec(d.output())![1]!);
    } finally {
      await e.stop();
    }
  });
});
