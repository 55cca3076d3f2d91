/**
 * @module views/peer-presence — how a peer is doing, in words: online or offline (from the last
 * probe of its routes) and the kind of path its best route takes (this machine, direct on the
 * local network, Tailscale, Yggdrasil, direct over the internet, or a relay; net/route-class).
 */
import type { PeerView } from "../src/api/types.ts";
import { describeAddress, isRelayRoute } from "../src/net/route-class.ts";
import { isLoopbackHost } from "../src/net/loopback.ts";

/** online: a route answered the last probe; offline: routes were probed and none answered; unknown: none probed yet. */
export type Presence = "online" | "offline" | "unknown";

export function presence(p: Pick<PeerView, "routes" | "best_route">): Presence {
  if (p.best_route !== null || p.routes.some((r) => r.reachable)) return "online";
  return p.routes.length ? "offline" : "unknown";
}

/** What the presence says on the page. */
export const PRESENCE_TEXT: Record<Presence, string> = { online: "online", offline: "offline", unknown: "not checked yet" };

/** The kind of path `url` takes, as people name it ("direct (LAN)", "Tailscale", "relay"…). */
export function routeKindText(url: string): string {
  if (isRelayRoute(url)) return "relay";
  try {
    const a = describeAddress(url);
    if (a.kind === "lan") return isLoopbackHost(a.host) ? "this machine" : "direct (LAN)";
    return { tailscale: "Tailscale", yggdrasil: "Yggdrasil", wan: "direct (internet)", relay: "relay" }[a.kind];
  } catch {
    return "unknown";
  }
}
