/**
 * The relay operator's proof (relay/relay-protocol): a relay run by a cell signs the login it
 * answers, so the proof names that cell only for that login; copied to another login, another
 * nonce, or signed by another key, it proves nothing. And a real hub run with an operator sends
 * the proof in `ready` and counts the bytes it carries per cell (takeCarried), an anonymous one
 * neither.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { makeLogin, makeOperatorProof, provenOperator, frame } from "../../src/relay/relay-protocol.ts";
import { startRelay, type Relay } from "../../src/relay/hub.ts";
import { newKeys } from "../helpers/relay.ts";

const nonce = () => randomBytes(16).toString("hex");

describe("operator proof", () => {
  const op = newKeys();
  const cell = newKeys();
  const other = newKeys();

  test("verifies for the login it answers, and only for that one", () => {
    const n = nonce();
    const login = makeLogin(cell, n, []);
    const proof = makeOperatorProof(op, n, login);
    expect(provenOperator(proof, n, login)).toBe(op.id);
    // Another nonce, another cell's login, another login of the same cell: nothing proven.
    expect(provenOperator(proof, nonce(), login)).toBeNull();
    expect(provenOperator(proof, n, makeLogin(other, n, []))).toBeNull();
    expect(provenOperator(proof, n, makeLogin(cell, n, [], Date.now() + 1))).toBeNull();
    // A relay naming a cell whose key it does not hold.
    expect(provenOperator({ ...makeOperatorProof(other, n, login), operator: op.id }, n, login)).toBeNull();
    // Malformed fields.
    for (const bad of [
      {},
      { operator: op.id },
      { operator: 5, operator_signature: proof.operator_signature },
      { operator: op.id, operator_signature: "zz" },
      { operator: "00".repeat(32), operator_signature: "00".repeat(64) },
    ]) {
      expect(provenOperator(bad, n, login)).toBeNull();
    }
  });
});

describe("a hub run by a cell", () => {
  const op = newKeys();
  const x = newKeys();
  const y = newKeys();
  const hubs: Relay[] = [];
  afterAll(() => hubs.forEach((h) => h.stop()));

  async function login(
    port: number,
    keys: ReturnType<typeof newKeys>,
    accept: string[],
  ): Promise<{ ws: WebSocket; ready: Record<string, unknown>; nonce: string; login: ReturnType<typeof makeLogin>; frames: Uint8Array[] }> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/relay`);
    ws.binaryType = "arraybuffer";
    const frames: Uint8Array[] = [];
    return await new Promise((resolve, reject) => {
      let n = "";
      let l: ReturnType<typeof makeLogin>;
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return void frames.push(new Uint8Array(ev.data as ArrayBuffer));
        const m = JSON.parse(ev.data);
        if (m.type === "challenge") {
          n = m.nonce;
          l = makeLogin(keys, n, accept);
          ws.send(JSON.stringify(l));
        } else if (m.type === "ready") resolve({ ws, ready: m, nonce: n, login: l, frames });
        else reject(new Error(JSON.stringify(m)));
      };
      ws.onerror = () => reject(new Error("ws error"));
    });
  }

  test("names its operator in ready, counts bytes carried per cell; an anonymous hub does neither", async () => {
    const fleet = (id: string) => id === x.id || id === y.id;
    const hub = startRelay({ host: "127.0.0.1", port: 0, operator: op, allow: fleet });
    const anon = startRelay({ host: "127.0.0.1", port: 0, allow: fleet });
    hubs.push(hub, anon);
    const cx = await login(hub.server.port!, x, [y.id]);
    const cy = await login(hub.server.port!, y, [x.id]);
    expect(provenOperator(cx.ready, cx.nonce, cx.login)).toBe(op.id);
    // The proof for X's login does not hold for Y's.
    expect(provenOperator(cx.ready, cy.nonce, cy.login)).toBeNull();
    cx.ws.send(frame(y.id, new Uint8Array(1000)));
    cx.ws.send(frame(y.id, new Uint8Array(500)));
    for (let i = 0; i < 100 && cy.frames.length < 2; i++) await Bun.sleep(10);
    expect(cy.frames.length).toBe(2);
    expect(Object.fromEntries(hub.takeCarried())).toEqual({ [x.id]: 1500, [y.id]: 1500 });
    expect(hub.takeCarried().size).toBe(0); // the counts restart

    const ax = await login(anon.server.port!, x, [y.id]);
    const ay = await login(anon.server.port!, y, [x.id]);
    expect(ax.ready.operator).toBeUndefined();
    expect(provenOperator(ax.ready, ax.nonce, ax.login)).toBeNull();
    ax.ws.send(frame(y.id, new Uint8Array(1000)));
    for (let i = 0; i < 100 && ay.frames.length < 1; i++) await Bun.sleep(10);
    expect(anon.takeCarried().size).toBe(0);
    for (const c of [cx, cy, ax, ay]) c.ws.close();
  });
});
