/**
 * @module net/mdns — finding cells on the local network: this cell advertises `_grove._tcp`
 * (cell id, name and port in TXT, the port in SRV too) with @homebridge/ciao, and browses for others with
 * bonjour-service (ciao only advertises). Nearby cells are only listed: pairing still needs an
 * invite, so a cell on the same Wi-Fi gains nothing by being found.
 */
import { getResponder, type CiaoService, type Responder } from "@homebridge/ciao";
import { Bonjour, type Browser } from "bonjour-service";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { shortId } from "../core/format.ts";

export const SERVICE_TYPE = "grove";

export interface NearbyCell {
  id: string;
  name: string;
  /** URLs built from the addresses and port the advertisement carried. */
  addresses: string[];
  seen_at: number;
}

export class MdnsPresence {
  private responder: Responder | null = null;
  private service: CiaoService | null = null;
  private bonjour: Bonjour | null = null;
  private browser: Browser | null = null;
  private found = new Map<string, NearbyCell>();

  constructor(private self: { id: string; name: string; port: number; interfaces?: string[] }) {}

  async start(): Promise<void> {
    try {
      this.responder = getResponder(this.self.interfaces?.length ? { interface: this.self.interfaces } : undefined);
      this.service = this.responder.createService({
        name: `Grove ${this.self.name} ${shortId(this.self.id)}`,
        type: SERVICE_TYPE,
        port: this.self.port,
        txt: { id: this.self.id, name: this.self.name, port: String(this.self.port), v: "1" },
      });
      await this.service.advertise();
    } catch (e) {
      log("warn", `mDNS advertising is off: ${errorMessage(e)}`);
    }
    try {
      this.bonjour = new Bonjour({}, (e: unknown) => log("warn", `mDNS browsing error: ${errorMessage(e)}`));
      this.browser = this.bonjour.find({ type: SERVICE_TYPE });
      this.browser.on("up", (s) => {
        const txt = (s.txt ?? {}) as Record<string, unknown>;
        const id = typeof txt.id === "string" && /^[0-9a-f]{64}$/.test(txt.id) ? txt.id : null;
        if (!id || id === this.self.id) return;
        const hosts = (s.addresses ?? []).filter((a) => !a.includes("%"));
        this.found.set(id, {
          id,
          name: typeof txt.name === "string" ? txt.name.slice(0, 64) : s.name,
          addresses: hosts.map((a) => `http://${a.includes(":") ? `[${a}]` : a}:${s.port}`).slice(0, 8),
          seen_at: Date.now(),
        });
      });
      this.browser.on("down", (s) => {
        const id = (s.txt as Record<string, unknown> | undefined)?.id;
        if (typeof id === "string") this.found.delete(id);
      });
    } catch (e) {
      log("warn", `mDNS browsing is off: ${errorMessage(e)}`);
    }
  }

  /** Cells seen on the local network (never this one). */
  nearby(): NearbyCell[] {
    return [...this.found.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Ask the network again (the browser also re-queries on its own). */
  refresh(): void {
    this.browser?.update();
  }

  /** Withdraw the advertisement and close every socket (resolves once closed: a new presence may follow at once). */
  async stop(): Promise<void> {
    const { browser, bonjour, service, responder } = this;
    this.browser = this.bonjour = this.service = this.responder = null;
    this.found.clear();
    browser?.stop();
    // Its multicast socket is closed when the callback runs; a socket that never opened may not call it.
    if (bonjour)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        bonjour.destroy(() => (clearTimeout(timer), resolve()));
      });
    await service?.end().catch(() => {});
    // A responder is shared by options (ciao counts its users): the last shutdown closes its sockets.
    await responder?.shutdown().catch(() => {});
  }
}
