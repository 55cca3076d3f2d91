/** @module core/layout — where a cell keeps its state (GROVE_DIR) and the user's files (GROVE_HOME). */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Every path inside GROVE_DIR, in one place (docs/design.md: Files on disk). */
export interface Layout {
  dir: string;
  home: string;
  config: string;
  rootSecret: string;
  nodeKey: string;
  nodePub: string;
  x25519Key: string;
  x25519Pub: string;
  masterKey: string;
  /** The file keys of my cells (crypto/key-ring); absent while the cell is on its own. */
  keyRing: string;
  peerSecret: string;
  apiToken: string;
  dashboardAuth: string;
  /** The one-time first-run setup code (600), present until a dashboard password is set. */
  setupCode: string;
  /** The dashboard's self-signed TLS certificate and key (tls_self_signed). */
  tlsDir: string;
  /** Present while peers may still call this cell at its pre-split address (web/legacy-window). */
  legacyWindow: string;
  placementDb: string;
  peerSpeeds: string;
  peerHealth: string;
  chunks: string;
  manifests: string;
  grants: string;
  /** Present while a recovered cell has not pulled its manifests back yet (`grove recover`). */
  recovering: string;
  invites: string;
  models: string;
  tmp: string;
  /** Written by a running cell so the CLI can find it: {pid, port, host, url}. */
  runtime: string;
}

/** Resolve the layout from the environment (GROVE_DIR, GROVE_HOME) or the defaults. */
export function resolveLayout(env: Record<string, string | undefined> = process.env): Layout {
  const dir = resolve(env.GROVE_DIR || join(homedir(), ".grove"));
  const home = resolve(env.GROVE_HOME || join(homedir(), "GroveHome"));
  const p = (name: string) => join(dir, name);
  return {
    dir,
    home,
    config: p("config.json"),
    rootSecret: p("root.key"),
    nodeKey: p("node.key"),
    nodePub: p("node.pub"),
    x25519Key: p("node_x25519.key"),
    x25519Pub: p("node_x25519.pub"),
    masterKey: p(".key"),
    keyRing: p("keyring.json"),
    peerSecret: p("peer_secret"),
    apiToken: p("api_token"),
    dashboardAuth: p("dashboard_auth"),
    setupCode: p("setup_code"),
    tlsDir: p("tls"),
    legacyWindow: p("legacy_peer_window.json"),
    placementDb: p("placement.db"),
    peerSpeeds: p("peer_speeds.json"),
    peerHealth: p("peer_health.json"),
    chunks: p("chunks"),
    manifests: p("manifests"),
    grants: p("grants"),
    recovering: p("recovering.json"),
    invites: p("invites"),
    models: p("models"),
    tmp: p("tmp"),
    runtime: p("cell.json"),
  };
}
