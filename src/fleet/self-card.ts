/**
 * @module fleet/self-card — this cell's own card: who it is, where it answers (config
 * `advertise`, else its interface addresses and port, then its relays), its build and what it
 * offers (free space, RAM, and the models it shares with friends: ai/assistant `cardModels`).
 * Re-signed only when something in it changes (free space is rounded to GiB so it does not
 * churn).
 */
import { networkInterfaces, totalmem } from "node:os";
import { statfsSync } from "node:fs";
import { buildHash, buildTime } from "../core/build-info.ts";
import { makeCard, cardChanged, type Card, type CardModel } from "../protocol/card.ts";
import type { Config } from "../config/config.ts";
import type { Identity } from "../crypto/keys.ts";
import { isRelayRoute, normalizeRelayUrl } from "../net/route-class.ts";

const GiB = 1024 ** 3;

/** URLs where this cell answers: `advertise` when set, else every interface address (loopback last). */
export function detectAddresses(host: string, port: number, advertise: readonly string[]): string[] {
  if (advertise.length) return [...advertise];
  const fmt = (a: string, family: string) => `http://${family === "IPv6" ? `[${a}]` : a}:${port}`;
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return [fmt(host, host.includes(":") ? "IPv6" : "IPv4")];
  const out: string[] = [];
  const loop: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === "IPv6" && i.scopeid) continue; // link-local v6 needs a zone: not usable in a URL for peers
      (i.internal ? loop : out).push(fmt(i.address, i.family));
    }
  }
  return [...out, ...loop].slice(0, 32);
}

/** What the card is made of. */
export interface SelfCardDeps {
  keys: Identity;
  config: Pick<Config, "name" | "advertise" | "relays">;
  /** GROVE_DIR: its free space. */
  dir: string;
  /** Where the peer API listens (asked on every call: the port is known once the socket is bound). */
  listen: () => { host: string; port: number };
  /** The models this cell shares with friends (ai/assistant `cardModels`). */
  models: () => CardModel[];
  /** Its GPU, as ai/gpu-probe detects it. */
  gpu: () => Card["capabilities"]["gpu"];
  /** The platforms of the builds it offers to peers (update/release-store). */
  targets: () => string[];
}

export class SelfCard {
  private card: Card | null = null;

  constructor(private deps: SelfCardDeps) {}

  /** The current signed card, re-made when its content would change. */
  get(): Card {
    const cfg = this.deps.config;
    const listen = this.deps.listen();
    let free = 0;
    try {
      const s = statfsSync(this.deps.dir);
      free = Math.floor((s.bavail * s.bsize) / GiB) * GiB;
    } catch {}
    const next = makeCard({
      identity: this.deps.keys,
      name: cfg.name,
      addresses: [
        ...new Set(
          [...detectAddresses(listen.host, listen.port, cfg.advertise), ...cfg.relays].map((u) =>
            isRelayRoute(u) ? normalizeRelayUrl(u) : u,
          ),
        ),
      ].slice(0, 32),
      build: buildHash(),
      buildTime: buildTime(),
      targets: this.deps.targets(),
      capabilities: { free_bytes: free, models: this.deps.models(), ram_bytes: Math.floor(totalmem() / GiB) * GiB, gpu: this.deps.gpu() },
    });
    if (!this.card || cardChanged(this.card, next)) this.card = next;
    return this.card;
  }
}
