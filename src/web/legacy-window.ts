/**
 * @module web/legacy-window — peers that still know this cell at its pre-split address.
 *
 * A cell upgraded from a build with one listener (config/migrate) served the peer API on its
 * dashboard's port on every interface; its peers hold a card with that address. Until each of
 * them has reached the new peer port (it learns the new card from the sync round, or by probing),
 * the dashboard's port keeps listening on the old host for them, and answers only /peer/* to
 * anything that is not loopback (web/listeners). The window's state is GROVE_DIR/
 * legacy_peer_window.json: the old host and the peers seen on the new port. It closes, for good,
 * when every current peer is among them.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { log } from "../core/log.ts";

const State = z.object({
  host: z.string().min(1).max(255),
  since: z.number(),
  reached: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(100_000),
});
type State = z.infer<typeof State>;

export class LegacyWindow {
  private constructor(
    private readonly path: string,
    private state: State,
  ) {}

  /** Open a window for peers that knew the cell on `host` (the upgrade does this once). */
  static open(path: string, host: string): LegacyWindow {
    const w = new LegacyWindow(path, { host, since: Date.now(), reached: [] });
    w.save();
    return w;
  }

  /** The open window, or null (none, or a damaged file: then it is dropped and said). */
  static load(path: string): LegacyWindow | null {
    if (!existsSync(path)) return null;
    try {
      return new LegacyWindow(path, State.parse(JSON.parse(readFileSync(path, "utf8"))));
    } catch (e) {
      log("warn", `${path} is damaged; the legacy peer window is closed`, { why: (e as Error).message });
      rmSync(path, { force: true });
      return null;
    }
  }

  get host(): string {
    return this.state.host;
  }

  private save(): void {
    writeFileAtomicSync(this.path, JSON.stringify(this.state) + "\n", 0o600);
  }

  /** `peer` reached the new peer port. True the first time. */
  reached(peer: string): boolean {
    if (this.state.reached.includes(peer)) return false;
    this.state.reached.push(peer);
    this.save();
    return true;
  }

  /** How many of `peers` have not reached the new port yet. */
  waitingFor(peers: readonly string[]): number {
    const seen = new Set(this.state.reached);
    return peers.filter((p) => !seen.has(p)).length;
  }

  /** Close for good: every peer knows the new address. */
  close(): void {
    rmSync(this.path, { force: true });
  }
}
