/**
 * A relay for tests: `grove relay` as a real process (from source or a given command), and a
 * simulated cell on it (real keys and WebSocket, no Grove cell behind it) that records what it
 * is sent, to test the hub's rules and to play a stranger abusing it. `grove relay` serves only
 * the cells it is told to: `tokenFile` makes an access token for `--token-file`.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BUN, CLI, ROOT } from "./cell.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex } from "../../src/core/types.ts";
import { accessProof, frame, makeLogin, unframe } from "../../src/relay/relay-protocol.ts";

export type Keys = { id: string; ed25519Secret: Uint8Array };
export const newKeys = (): Keys => {
  const i = deriveIdentity(new Uint8Array(randomBytes(32)));
  return { id: toHex(i.ed25519Public), ed25519Secret: i.ed25519Secret };
};

/** A new access token written to DIR/relay.token (mode 600): pass `--token-file` and the path; cells add `?token=` and the token to the relay URL. */
export function tokenFile(dir: string): { path: string; token: string } {
  const token = randomBytes(32).toString("base64url");
  const path = join(dir, "relay.token");
  writeFileSync(path, token + "\n", { mode: 0o600 });
  return { path, token };
}

/** Start `grove relay` on a free port of `host`; `url` is host:port. */
export async function startRelay(
  args: string[],
  cmd: string[] = [BUN, CLI],
  host = "127.0.0.1",
): Promise<{ proc: Subprocess; url: string; out: () => string }> {
  const proc = Bun.spawn([...cmd, "relay", "--port", "0", "--host", host, ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env },
  });
  let out = "";
  const dec = new TextDecoder();
  void (async () => {
    for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
  })();
  void (async () => {
    for await (const c of proc.stderr as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
  })();
  for (let i = 0; i < 200 && !/listening on [^:]+:(\d+)/.test(out); i++) await Bun.sleep(25);
  const port = /listening on [^:]+:(\d+)/.exec(out)?.[1];
  if (!port) throw new Error(`relay did not start:\n${out}`);
  return { proc, url: `${host}:${port}`, out: () => out };
}

/** A simulated cell on the relay: logs in, records what arrives. */
export class Client {
  ws!: WebSocket;
  texts: { type: string; reason?: string; to?: string; count?: number }[] = [];
  /** The relay's `ready` message (limits, guest, operator). */
  ready: Record<string, unknown> | null = null;
  frames: { from: string; payload: Uint8Array }[] = [];
  closed: { code: number; reason: string } | null = null;
  state: "ready" | "refused" | "pending" = "pending";

  /** Log in as `keys` (signed by `sign`), accepting `accept`; `token` proves an access token of the relay. */
  static async connect(
    relay: string,
    keys: Keys,
    accept: string[],
    sign: Keys = keys,
    open = false,
    token: string | null = null,
  ): Promise<Client> {
    const c = new Client();
    c.ws = new WebSocket(`ws://${relay}/v1/relay`);
    c.ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve) => {
      c.ws.onmessage = (ev) => {
        if (typeof ev.data === "string") {
          const m = JSON.parse(ev.data) as { type: string; nonce?: string; reason?: string };
          if (m.type === "challenge") {
            const login = makeLogin(sign, m.nonce!, accept, Date.now(), open);
            c.ws.send(
              JSON.stringify({ ...login, id: keys.id, ...(token !== null ? { access: accessProof(token, m.nonce!, keys.id) } : {}) }),
            );
            return;
          }
          if (m.type === "ready") (c.state = "ready"), (c.ready = m), resolve();
          else if (m.type === "refused") (c.state = "refused"), c.texts.push(m), resolve();
          else c.texts.push(m);
        } else {
          const f = unframe(new Uint8Array(ev.data as ArrayBuffer))!;
          c.frames.push({ from: f.id, payload: f.payload.slice() });
        }
      };
      c.ws.onclose = (ev) => {
        c.closed = { code: ev.code, reason: ev.reason };
        resolve();
      };
    });
    return c;
  }

  send(to: string, payload: Uint8Array): void {
    this.ws.send(frame(to, payload));
  }

  async until(pred: () => boolean, ms = 5000): Promise<void> {
    for (let t = 0; t < ms && !pred(); t += 20) await Bun.sleep(20);
  }

  close(): void {
    this.ws.close();
  }
}
