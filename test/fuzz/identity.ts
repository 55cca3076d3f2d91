/**
 * @module test/fuzz/identity — a cell identity the fuzzer speaks as: real keys, a signed card,
 * and peer-request signatures made with the platform's Ed25519 (the same bytes as
 * protocol/request-auth's, several times faster, so the cell, not the fuzzer, is the bottleneck).
 */
import { createHash, createPrivateKey, randomBytes, sign as nodeSign, type KeyObject } from "node:crypto";
import { deriveIdentity, type Identity } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import { makeCard, type Card } from "../../src/protocol/card.ts";
import type { RequestAuthHeaders } from "../../src/protocol/request-auth.ts";

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const enc = new TextEncoder();

export class FuzzIdentity {
  readonly identity: Identity;
  readonly id: CellId;
  readonly card: Card;
  private readonly key: KeyObject;

  constructor(name = "fuzzer", seed: Uint8Array = new Uint8Array(randomBytes(32))) {
    this.identity = deriveIdentity(seed);
    this.id = toHex(this.identity.ed25519Public) as CellId;
    this.key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, Buffer.from(this.identity.ed25519Secret.subarray(0, 32))]),
      format: "der",
      type: "pkcs8",
    });
    this.card = makeCard({
      identity: this.identity,
      name,
      addresses: [],
      build: "0".repeat(64),
      capabilities: { free_bytes: 0, models: [], ram_bytes: 0, gpu: null },
    });
  }

  get keys(): { id: string; ed25519Secret: Uint8Array } {
    return { id: this.id, ed25519Secret: this.identity.ed25519Secret };
  }

  signBytes(message: Uint8Array): string {
    return nodeSign(null, message, this.key).toString("hex");
  }

  /**
   * The four X-Grove-* headers for a request, as protocol/request-auth's signRequest makes them
   * (`target` = path + query as the server will read it). `as` claims another cell id.
   */
  signRequest(
    method: string,
    target: string,
    body: Uint8Array | null,
    to: string,
    opts: { now?: number; nonce?: string; as?: string } = {},
  ): RequestAuthHeaders {
    const time = String(Math.floor(opts.now ?? Date.now()));
    const nonce = opts.nonce ?? randomBytes(16).toString("hex");
    const bodyHash = createHash("sha256")
      .update(body ?? new Uint8Array(0))
      .digest("hex");
    const message = enc.encode(["grove-request-v1", method.toUpperCase(), target, time, nonce, bodyHash, to].join("\n"));
    return {
      "X-Grove-Cell": opts.as ?? this.id,
      "X-Grove-Time": time,
      "X-Grove-Nonce": nonce,
      "X-Grove-Signature": this.signBytes(message),
    };
  }
}
