/**
 * @module runtime/runtime — the one place that builds a running cell's services.
 *
 * `openRuntime` builds every service once, in dependency order, and hands each the narrow
 * interface it needs (a peer directory, a caller, a few callbacks) in its constructor; no service
 * is filled in afterwards. Building connects the relay client, starts the sync Worker and binds a
 * relay this cell runs (relay_port); `start` binds the two listeners and starts the timers;
 * `stop` ends them in reverse order. `grove start` parses its arguments, opens a runtime, starts
 * it and prints; tests open one `inProcess` (no sockets, Worker, relays, mDNS or watcher) and call
 * `app.request`.
 *
 * A config.json change is taken while the cell runs (`reloadConfig`, config/live): the services
 * read the live keys from the one config object, and the runtime moves what it set up from them
 * (the sync timer, the watched folders, Ollama's address, the relays held, mDNS on, off or anew).
 * The listeners, the relay this cell runs (relay_port), crypto and the other keys outside
 * LIVE_KEYS wait for the next start, which the log says.
 *
 * The wiring has two cycles, each closed by a `Late` reference set later in this function: the
 * relay client serves calls with the peer app (which needs the services that call through the
 * relay client), and the card names the peer listener's port (known once the socket is bound).
 *
 * Dependency order:
 *   cell (store, index, crypto) → peers table, route figures (PeerBook), invites
 *   → relay client → caller (keys + relay transport) → assistant, my tree → self card
 *   → friendships → sharing, messenger, updater → sync service → pairing (Fleet) → request verifier
 *   → web services → peer app, dashboard app → relay hub → listeners, mDNS, watcher, trash.
 */
import { existsSync, readFileSync, rmSync, watch } from "node:fs";
import { loadConfig, type Config } from "../config/config.ts";
import { applyLive, type ConfigReload } from "../config/live.ts";
import type { Hono } from "hono";
import type { Layout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import { errorMessage, GroveError } from "../core/errors.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { fromHex, type CellId } from "../core/types.ts";
import { openCell, type Cell } from "../cell/cell.ts";
import { clearLeftovers } from "../cell/leftovers.ts";
import { saveKeyRing } from "../cell/state-dir.ts";
import { SyncHistory } from "../cell/sync-history.ts";
import { PeerStore, type PeerRow } from "../fleet/peer-store.ts";
import { PeerBook } from "../fleet/peer-directory.ts";
import { InviteStore } from "../fleet/invite-store.ts";
import { SelfCard } from "../fleet/self-card.ts";
import { Fleet } from "../fleet/fleet.ts";
import { Friendships } from "../fleet/friendship.ts";
import type { Card } from "../protocol/card.ts";
import { RequestVerifier } from "../protocol/request-auth.ts";
import type { PeerCaller } from "../net/peer-client.ts";
import { MdnsSwitch, type MdnsSettings } from "../net/mdns-switch.ts";
import { RelayClient } from "../relay/relay-client.ts";
import { startRelay, type Relay } from "../relay/hub.ts";
import { RelayCredit } from "../bounty/relay-credit.ts";
import { BountyLedger } from "../bounty/ledger.ts";
import { createAssistant, type Assistant } from "../ai/assistant.ts";
import { Sharing } from "../share/sharing.ts";
import { MyTree } from "../mine/my-tree.ts";
import { Messenger } from "../message/messenger.ts";
import { SyncService } from "../sync/sync-service.ts";
import { PeerLink } from "../sync/peer-link.ts";
import { FileWatcher, watchRoots } from "../ingest/file-watcher.ts";
import { repairHomeCopies } from "../ingest/home-copies.ts";
import { TrashCollector, collectContextOf } from "../trash/collector.ts";
import { cellUpdater, startUpdates, type CellUpdates } from "../update/lifecycle.ts";
import type { Updater } from "../update/updater.ts";
import { ReleaseStore, releasesDir } from "../update/release-store.ts";
import { detectGpu } from "../ai/gpu-probe.ts";
import { createApp, createPeerApp } from "../web/app.ts";
import { peerApi, MAX_PEER_REQUEST } from "../web/peer-api.ts";
import type { WebEnv } from "../web/context.ts";
import type { WebServices } from "../web/services.ts";
import { Listeners } from "../web/listeners.ts";
import { LegacyWindow } from "../web/legacy-window.ts";
import type { ListenInfo } from "../api/types.ts";
import type { TlsFiles } from "../web/tls.ts";
import { Late } from "./late.ts";
import { PasswordFile } from "../web/password.ts";
import { SetupCode } from "../web/setup-code.ts";
import { shortId } from "../core/format.ts";

export type { ConfigReload } from "../config/live.ts";

export interface RuntimeOptions {
  layout: Layout;
  /** Where the dashboard and the peer API listen (ports may be 0: any free one). */
  listen: { host: string; port: number; peerHost: string; peerPort: number };
  tls: TlsFiles | null;
  /** No sockets, no sync Worker, no relays, mDNS, watcher or timers: the apps alone, for `app.request`. */
  inProcess?: boolean;
}

export interface Runtime {
  readonly cell: Cell;
  readonly services: WebServices;
  /** The dashboard's app (dashboard, /api, /peer) and the peer listener's (/peer alone). */
  readonly app: Hono<WebEnv>;
  readonly peerApp: Hono<WebEnv>;
  /** The recovery phrase when this open created the identity (show it once), else null. */
  readonly newPhrase: string | null;
  /** The name this open gave the cell (a new config.json), else null. */
  readonly newName: string | null;
  /** The first-run setup code (until a dashboard password exists), else null: print it. */
  readonly setupCode: string | null;
  /** The relay this cell runs (config relay_port), or null. */
  readonly hub: Relay | null;
  /** Bind the sockets and start the services; throws a GroveError naming the config key when a port is taken. */
  start(): Promise<ListenInfo>;
  /** Where the cell listens (null before `start`). */
  listening(): ListenInfo | null;
  /** The pre-split address still open for peers, and how many have not reached the new port. */
  legacy(): { host: string; waiting: number } | null;
  /**
   * Read config.json again and take its live keys (config/live) at once; the others are said to
   * need a restart. A file that does not validate changes nothing. A started runtime calls it
   * when the file changes.
   */
  reloadConfig(): ConfigReload;
  /** Stop everything, in reverse order of start, then close the cell (also when it never started). */
  stop(): void;
  /** After `stop`: the exit code (a self-update restarts into the new build). */
  handoff(code: number): Promise<number>;
}

/** Build a cell's services (see the module comment); nothing listens or runs until `start`. */
export function openRuntime(opts: RuntimeOptions): Runtime {
  const { layout } = opts;
  const live = !opts.inProcess;
  const { cell, newPhrase, newName } = openCell(layout);
  const { config, keys } = cell;
  if (live) clearLeftovers(layout, cell.db); // temp files of a run that was killed; nothing writes yet
  // The first-run code exists before the dashboard takes its first request (web/setup-code).
  const setupCode = new PasswordFile(layout.dashboardAuth).isSet() ? null : new SetupCode(layout.setupCode).ensure();

  const peerStore = new PeerStore(cell.db.db);
  const peers = new PeerBook(peerStore, layout);
  const invites = new InviteStore(layout.invites);

  // Relays: reservations on config `relays`; calls through them for this cell and its Worker.
  const peerApp = new Late<Hono<WebEnv>>("the peer app");
  const relay = live
    ? new RelayClient({
        keys,
        suite: cell.suite,
        relays: config.relays,
        accept: () => ({ ids: peerStore.list().map((p) => p.id), open: invites.live() > 0 }),
        peerX25519: (id) => {
          const p = peerStore.get(id);
          return p ? fromHex((JSON.parse(p.card) as Card).x25519) : null;
        },
        serve: async (req) => peerApp.get().fetch(req), // the peer API alone, never the dashboard
      })
    : null;
  const caller: PeerCaller = { keys, relay: relay ? (url, peer, req, ms, signal) => relay.call(url, peer, req, ms, signal) : null };

  const assistant: Assistant = createAssistant(cell, { caller, peers });
  // The one tree of my cells: events of this cell's changes, exchanged with my other cells.
  const tree = new MyTree({
    cell,
    peers,
    caller,
    name: () => config.name,
    keys: {
      save: () => saveKeyRing(layout, cell.vault.keys),
      // Another cell of mine removed one: this cell refuses it too (and stops counting its copies).
      forget: (id) => {
        if (!peerStore.get(id)) return;
        peerStore.setFlag(id, "mine", false); // removed by the other cell, which made the new key: not again here
        fleet.peerAction(id, "remove");
      },
      introduce: (card) => {
        peerStore.upsert(card.id, card.name, JSON.stringify(card));
        peerStore.setFlag(card.id, "mine", true);
        relay?.refreshAccept();
        void tree.pullFrom(card.id, true).catch(() => {});
      },
      selfCard: () => self.get(),
    },
    recovering: () => existsSync(layout.recovering),
  });
  const listeners = new Late<Listeners>("the listeners");
  const self = new SelfCard({
    keys,
    config,
    dir: layout.dir,
    listen: () =>
      listeners.ready()
        ? { host: opts.listen.peerHost, port: listeners.get().info().peer.port }
        : { host: opts.listen.peerHost, port: opts.listen.peerPort },
    models: () => assistant.cardModels(),
    gpu: detectGpu,
    targets: () => new ReleaseStore(releasesDir(layout.dir)).targets(),
  });

  const friends = new Friendships({ store: peerStore, peers, caller });
  const sharing = new Sharing({ cell, peers, caller, friends });
  const messenger = new Messenger({ db: cell.db.db, peers, caller });
  const updater: Updater = cellUpdater({ dir: layout.dir, config, peers, caller });
  const hub = live && config.relay_port !== null ? openHub(cell, opts.listen.peerHost, peerStore) : null;
  const relayCredit = relay ? new RelayCredit(new BountyLedger(cell.db.db), hub, relay) : null;

  // The sync rounds' throughput, kept across restarts (cell/sync-history).
  const syncHistory = live ? SyncHistory.open(layout) : null;
  const rounds = live
    ? new SyncService({
        layout,
        statsChanged: () => peers.reloadStats(),
        card: () => self.get(),
        relay,
        beforeRound: () => relayCredit?.flush(),
        // placement.db's WAL checkpoints: taken by the Worker while it runs (store/placement-db).
        checkpointOnCommit: (on) => {
          try {
            cell.db.checkpointOnCommit(on);
          } catch {
            // closed: the cell is stopping
          }
        },
        // After each round: deliver what waited for a peer (friendship notices, then grants, which
        // a peer takes only from a friend; revocations, messages), look for updates.
        afterRound: () => {
          const round = rounds?.history().at(-1); // the round just ended, kept for the Storage tab's chart
          if (round) void syncHistory?.add(round);
          void friends
            .retry()
            .catch(() => {})
            .then(() => sharing.retry())
            .catch(() => {});
          void messenger.retry().catch(() => {});
          void updater.afterRound().catch((e) => log("warn", `update check failed: ${errorMessage(e)}`));
        },
      })
    : null;

  // Each chunk a put writes: a small one is kept a moment for the pokes to my cells (mine/carried-chunks);
  // with push on store, it goes to the sync Worker, which sends it to peers at once.
  cell.vault.chunkStored = (hash, sealed, durable) => {
    tree.justSealed(hash, sealed);
    if (rounds && config.push_on_store && config.replication_factor > 1) rounds.chunkStored(hash, sealed, durable);
  };

  const fleet = new Fleet({
    caller,
    self,
    peers: peerStore,
    invites,
    placements: cell.placements,
    friends,
    relay,
    keys: {
      ring: cell.vault.keys,
      save: () => saveKeyRing(layout, cell.vault.keys),
      changed: (joining) => tree.pokeAll({ keys: true }, joining),
    },
    paired: (id) => {
      void rounds?.probe().catch(() => {});
      // Joined as one of my cells: take the tree now, and have the inviter take ours.
      if (peerStore.get(id)?.mine)
        void tree.pullFrom(id, true).then(
          () => tree.pokeAll(),
          () => tree.pokeAll(),
        );
    },
    release: (p) => releaseAll(cell, peers.routeOf(p.id as CellId), caller, p),
  });
  const verifier = new RequestVerifier((id) => (peerStore.get(id) ? fromHex(id) : undefined), Date.now, {
    self: keys.id,
    notBefore: Date.now(),
  });

  // Made in every running cell, watching nothing while watch_home is off and watch_dirs empty: a
  // folder added in Settings is watched at once (`setRoots` on reload).
  const watcher = live
    ? new FileWatcher(cell.vault, {
        roots: watchRoots(layout.home, config.watch_home, config.watch_dirs),
        debounceMs: config.watch_debounce_ms,
        maxBytes: config.max_upload_bytes,
      })
    : null;
  // mDNS follows config `mdns` (and `mdns_interfaces`, `name`) while the cell runs, once the peer
  // port is known; GROVE_MDNS=0, read once at open, keeps it off whatever the file says.
  const mdnsAllowed = live && process.env.GROVE_MDNS !== "0";
  const mdnsOn = () => mdnsAllowed && config.mdns;
  const mdns = new MdnsSwitch();
  let running = false; // between `start` binding the listeners and `stop`
  const mdnsSettings = (): MdnsSettings | null =>
    running && mdnsOn()
      ? { id: keys.id, name: config.name, port: listeners.get().info().peer.port, interfaces: [...config.mdns_interfaces] }
      : null;

  // Peers that still know this cell at its pre-split address (web/legacy-window).
  const peerIds = () => peerStore.list().map((p) => p.id);
  const checkLegacy = () => {
    if (!listeners.ready()) return;
    const w = listeners.get().legacyWindow;
    if (w && w.waitingFor(peerIds()) === 0) listeners.get().closeLegacy();
  };
  const onPeer = (peer: CellId, via: string | undefined) => {
    if (via === "peer" && listeners.ready() && listeners.get().legacyWindow?.reached(peer)) checkLegacy();
  };
  const listening = () => (listeners.ready() ? listeners.get().info(listeners.get().legacyWindow?.waitingFor(peerIds()) ?? 0) : null);

  const services: WebServices = {
    cell,
    peers,
    peerStore,
    fleet,
    caller,
    verifier,
    sharing,
    tree,
    messenger,
    assistant,
    rounds,
    syncHistory,
    relay,
    relayCredit,
    get nearby() {
      return mdnsOn() ? mdns : null;
    },
    updater,
    watching: () => (watcher?.watching ? watcher.status() : null),
    get scanner() {
      return watcher?.watching ? watcher : null;
    },
    listening,
    reloadConfig: () => reloadConfig(),
  };
  const peerRoutes = peerApi(services, { onPeer });
  const app = createApp(services, { peerRoutes });
  peerApp.set(createPeerApp(services, peerRoutes, () => listening()?.dashboard.url.replace("127.0.0.1", "localhost") ?? ""));

  const reloadConfig = (): ConfigReload => {
    let next: Config;
    try {
      next = loadConfig(layout.config).config;
    } catch (e) {
      log("warn", `config.json not reloaded (the cell keeps its settings): ${errorMessage(e)}`);
      return { ok: false, error: errorMessage(e) };
    }
    const before = config.sync_interval_s;
    const r = applyLive(config, next);
    if (config.sync_interval_s !== before) rounds?.every(config.sync_interval_s);
    if (r.applied.includes("watch_home") || r.applied.includes("watch_dirs"))
      void watcher?.setRoots(watchRoots(layout.home, config.watch_home, config.watch_dirs));
    if (r.applied.includes("ollama_url")) assistant.useOllama(config.ollama_url);
    if (r.applied.includes("relays")) relay?.setRelays(config.relays);
    // On, off or anew (interfaces, or the name it advertises); nothing when none of these changed.
    void mdns.set(mdnsSettings());
    if (r.applied.length) log("info", "config.json reloaded: taken at once", { keys: r.applied.join(",") });
    // Said once per set of waiting keys: a dashboard save reloads, then the file watcher does again.
    const waiting = r.restart.join(",");
    if (waiting && waiting !== saidWaiting)
      log("warn", "config.json changed keys that take effect at the next start (restart the cell)", { keys: waiting });
    saidWaiting = waiting;
    return { ok: true, ...r };
  };
  /** The keys last said to wait for the next start ("" none). */
  let saidWaiting = "";

  // What `start` starts, to stop in reverse order.
  const stops: (() => void)[] = [];
  let updates: CellUpdates | null = null;

  return {
    cell,
    services,
    app,
    peerApp: peerApp.get(),
    newPhrase,
    newName,
    setupCode,
    hub,
    async start() {
      if (!live) throw new GroveError("an in-process runtime does not listen", 500, "in_process");
      try {
        listeners.set(
          new Listeners(
            {
              dashboard: {
                host: opts.listen.host,
                port: opts.listen.port,
                tls: opts.tls,
                maxBodyBytes: config.max_upload_bytes + 1024 * 1024,
              },
              peer: { host: opts.listen.peerHost, port: opts.listen.peerPort, maxBodyBytes: MAX_PEER_REQUEST },
              legacy: LegacyWindow.load(layout.legacyWindow),
            },
            { dashboard: app, peer: peerApp.get() },
          ).start(),
        );
      } catch (e) {
        this.stop();
        throw e;
      }
      const info = listeners.get().info();
      stops.push(() => listeners.get().stop());
      checkLegacy(); // no peers at all (or all already moved): nothing to wait for
      const legacyTimer = setInterval(checkLegacy, 60_000); // a peer removed may have been the last one waited for
      stops.push(() => clearInterval(legacyTimer));
      if (relayCredit) {
        relayCredit.start();
        stops.push(() => relayCredit.stop());
      }
      running = true;
      void mdns.set(mdnsSettings());
      stops.push(() => ((running = false), void mdns.set(null)));
      await rejoinAfterRecovery(layout.recovering, fleet);
      tree.start();
      stops.push(() => tree.stop());
      stops.push(cell.vault.stored!.on((path) => tree.changed(path)));
      cell.vault.describe = (paths) => tree.describeNow(paths);
      stops.push(() => (cell.vault.describe = undefined));
      if (rounds) {
        rounds.start(config.sync_interval_s);
        stops.push(cell.vault.stored!.on(() => rounds.nudge(config.sync_after_change_s)));
      }
      // Copies in GROVE_HOME a crash left torn are written again from the chunks before the
      // watcher could take one for an edit (ingest/home-copies).
      await repairHomeCopies(cell.vault);
      cell.vault.settler?.repaired();
      if (watcher) {
        void watcher.start();
        stops.push(() => watcher.stop());
      }
      // The trash collection: retention, purged versions and deleted chunks after trash_retention_s.
      const trash = new TrashCollector(collectContextOf(cell));
      trash.start();
      stops.push(() => trash.stop());
      updates = startUpdates(updater); // self-update: offer our build, notice newer ones, settle a swap
      // config.json edited while the cell runs: its live keys are taken (written atomically, so watch the folder).
      let reloadTimer: ReturnType<typeof setTimeout> | undefined;
      const watcherOfConfig = watch(layout.dir, (_e, name) => {
        if (name !== "config.json") return;
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(reloadConfig, 300);
      });
      stops.push(() => (clearTimeout(reloadTimer), watcherOfConfig.close()));
      return info;
    },
    listening,
    reloadConfig,
    legacy() {
      const w = listeners.ready() ? listeners.get().legacyWindow : null;
      return w ? { host: w.host, waiting: w.waitingFor(peerIds()) } : null;
    },
    stop() {
      while (stops.length) {
        try {
          stops.pop()!();
        } catch (e) {
          log("warn", `stopping: ${errorMessage(e)}`);
        }
      }
      hub?.stop();
      relay?.stop();
      rounds?.stop();
      assistant.close();
      cell.close();
      if (live) rmSync(layout.runtime, { force: true });
    },
    handoff: (code) => (updates ? updates.handoff(code) : Promise.resolve(code)),
  };
}

/** The relay this cell runs (config relay_port): it serves this cell and its peers. */
function openHub(cell: Cell, host: string, peers: PeerStore): Relay {
  const port = cell.config.relay_port!;
  try {
    return startRelay({
      host,
      port,
      operator: cell.keys,
      // Asked at each login and again later (a cell joining through a live invite gets in as a guest: relay/hub).
      allow: (id) => id === cell.keys.id || peers.get(id) !== null,
    });
  } catch (e) {
    cell.close();
    throw new GroveError(`relay_port ${port} on ${host}: ${errorMessage(e)} (is another relay running there?)`, 409, "port_in_use");
  }
}

/**
 * A peer being removed: ask it, once and best effort, to release the copies of our chunks it
 * keeps (else they would sit on its disk for good). One that cannot be reached keeps them.
 */
async function releaseAll(cell: Cell, url: string | null, caller: PeerCaller, p: PeerRow): Promise<void> {
  const hashes = cell.placements.on(p.id as CellId);
  if (!url || !hashes.length) return;
  try {
    const n = await new PeerLink(caller, p.id as CellId, url, (JSON.parse(p.card) as Card).x25519).release(hashes);
    log("info", "removed peer released our chunks", { peer: shortId(p.id), released: n, asked: hashes.length });
  } catch (e) {
    log("warn", `removed peer ${shortId(p.id)} was not asked to release our chunks: ${errorMessage(e)}`);
  }
}

/** A recovered cell (`grove recover`) rejoins the fleet through its invite before syncing. */
async function rejoinAfterRecovery(path: string, fleet: Fleet): Promise<void> {
  if (!existsSync(path)) return;
  let state: { token?: string; at?: number };
  try {
    state = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    state = {};
  }
  if (!state.token) return;
  try {
    const card = await fleet.join(state.token);
    console.log(`Recovery: rejoined the fleet through ${card.name} (${shortId(card.id)}); pulling manifests back…`);
    writeFileAtomicSync(path, JSON.stringify({ at: state.at ?? Date.now(), joined: card.id }) + "\n", 0o600);
  } catch (e) {
    console.error(`Recovery: could not rejoin through the invite: ${errorMessage(e)}`);
    log("warn", "recovery: rejoin failed; known peers will still be asked", { why: errorMessage(e) });
  }
}
