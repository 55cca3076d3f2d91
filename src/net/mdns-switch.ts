/**
 * @module net/mdns-switch — this cell's mDNS presence (net/mdns) following its settings while it
 * runs: on or off with config `mdns`, started anew when `mdns_interfaces` or the advertised name
 * or port changes. Changes are taken one at a time, each presence stopped (its sockets closed)
 * before the next starts: ciao shares a responder between users of the same options, and a new
 * one started while the old shuts down would be handed the closing one. Toggles made while a
 * change is under way collapse into the last one.
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { MdnsPresence, NearbyCell } from "./mdns.ts";

/** What to advertise: who, under which name, the peer API's port, and on which interfaces (empty: all). */
export interface MdnsSettings {
  id: string;
  name: string;
  port: number;
  interfaces: string[];
}

export class MdnsSwitch {
  private presence: MdnsPresence | null = null;
  /** The settings `presence` runs with (JSON), "" when none runs. */
  private running = "";
  private wanted: MdnsSettings | null = null;
  private queue: Promise<void> = Promise.resolve();

  /** Run with these settings, or not at all (null); resolves once done (sockets open or closed). */
  set(settings: MdnsSettings | null): Promise<void> {
    this.wanted = settings;
    this.queue = this.queue.then(
      () => this.settle(),
      () => this.settle(),
    );
    return this.queue;
  }

  /** Cells seen on the local network (none while off). */
  nearby(): NearbyCell[] {
    return this.presence?.nearby() ?? [];
  }

  private async settle(): Promise<void> {
    const want = this.wanted; // the latest wish: the ones queued before it are passed over
    const key = want ? JSON.stringify(want) : "";
    if (key === this.running) return;
    const old = this.presence;
    this.presence = null;
    this.running = "";
    try {
      if (old) await old.stop();
      if (!want) return log("info", "mDNS: stopped");
      const { MdnsPresence } = await import("./mdns.ts"); // loaded only when used
      const next = new MdnsPresence(want);
      this.presence = next;
      this.running = key;
      await next.start();
      log("info", "mDNS: advertising and browsing", { name: want.name, interfaces: want.interfaces.join(",") || "all" });
    } catch (e) {
      log("warn", `mDNS: ${errorMessage(e)}`);
    }
  }
}
