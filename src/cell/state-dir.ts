/**
 * @module cell/state-dir — creates GROVE_DIR on first start and loads the cell's keys after.
 *
 * First start: a random root secret -> identity + master key (crypto/keys), written with
 * mode 600 into a 700 directory, plus api_token, peer_secret and a config.json of defaults
 * with the cell's own name (config/newCellName; the log says how to change it).
 * Later starts read root.key and check the derived files still match it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { writeFileAtomicSync } from "../core/atomic.ts";
import type { Layout } from "../core/layout.ts";
import { toHex, type CellId } from "../core/types.ts";
import { deriveIdentity, type CellKeys } from "../crypto/keys.ts";
import { KeyRing } from "../crypto/key-ring.ts";
import { phraseFromSecret } from "../crypto/recovery.ts";
import { writeDefaultConfig } from "../config/config.ts";

const SECRET = 0o600;

/** True when GROVE_DIR already holds a cell identity. */
export function isInitialised(layout: Layout): boolean {
  return existsSync(layout.rootSecret);
}

/** Make the directory tree (700) if missing; existing directories are tightened to 700. */
export function ensureTree(layout: Layout): void {
  for (const d of [layout.dir, layout.chunks, layout.manifests, layout.grants, layout.invites, layout.models, layout.tmp]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  chmodSync(layout.dir, 0o700);
  mkdirSync(layout.home, { recursive: true, mode: 0o755 });
}

/** Write every key file derived from `root` (first start, or `grove recover`). */
export function writeIdentity(layout: Layout, root: Uint8Array): void {
  const id = deriveIdentity(root);
  writeFileAtomicSync(layout.rootSecret, toHex(root) + "\n", SECRET);
  writeFileAtomicSync(layout.nodeKey, toHex(id.ed25519Secret) + "\n", SECRET);
  writeFileAtomicSync(layout.nodePub, toHex(id.ed25519Public) + "\n", 0o644);
  writeFileAtomicSync(layout.x25519Key, toHex(id.x25519Secret) + "\n", SECRET);
  writeFileAtomicSync(layout.x25519Pub, toHex(id.x25519Public) + "\n", 0o644);
  writeFileAtomicSync(layout.masterKey, toHex(id.masterKey) + "\n", SECRET);
}

/**
 * First-run set-up. Returns the recovery phrase when a new identity was made (to print once),
 * or null when GROVE_DIR already had one.
 */
export function initStateDir(layout: Layout): { phrase: string | null; name: string | null } {
  ensureTree(layout);
  let phrase: string | null = null;
  if (!isInitialised(layout)) {
    const root = new Uint8Array(randomBytes(32));
    writeIdentity(layout, root);
    phrase = phraseFromSecret(root);
  }
  if (!existsSync(layout.apiToken)) writeFileAtomicSync(layout.apiToken, randomBytes(32).toString("hex") + "\n", SECRET);
  if (!existsSync(layout.peerSecret)) writeFileAtomicSync(layout.peerSecret, randomBytes(32).toString("hex") + "\n", SECRET);
  // A name of its own (config/newCellName): a second cell on this machine is told apart. `grove start` says it.
  const name = existsSync(layout.config) ? null : writeDefaultConfig(layout.config).name;
  return { phrase, name };
}

function readHex(path: string): Uint8Array {
  const s = readFileSync(path, "utf8").trim();
  return new Uint8Array(Buffer.from(s, "hex"));
}

/** Load the root secret and everything derived from it. Throws a one-line error if the files disagree. */
export function loadKeys(layout: Layout): CellKeys {
  if (!isInitialised(layout)) throw new Error(`no cell identity in ${layout.dir} (run \`grove start\` once)`);
  const mode = statSync(layout.rootSecret).mode & 0o777;
  if (mode & 0o077) chmodSync(layout.rootSecret, SECRET);
  const root = readHex(layout.rootSecret);
  if (root.byteLength !== 32) throw new Error(`${layout.rootSecret} is damaged (expected 64 hex characters)`);
  const id = deriveIdentity(root);
  if (existsSync(layout.nodePub) && toHex(readHex(layout.nodePub)) !== toHex(id.ed25519Public)) {
    throw new Error(`${layout.nodePub} does not match root.key: refusing to start with a mixed identity`);
  }
  const apiToken = readFileSync(layout.apiToken, "utf8").trim();
  return { ...id, root, id: toHex(id.ed25519Public) as CellId, apiToken };
}

/** The recovery phrase of an initialised GROVE_DIR. */
export function recoveryPhrase(layout: Layout): string {
  return phraseFromSecret(loadKeys(layout).root);
}

/** The file keys of my cells (GROVE_DIR/keyring.json), or the cell's own master key alone when there is none. */
export function loadKeyRing(layout: Layout, keys: CellKeys): KeyRing {
  if (!existsSync(layout.keyRing)) return KeyRing.alone(keys.id, keys.masterKey);
  try {
    return KeyRing.load(keys.id, keys.masterKey, JSON.parse(readFileSync(layout.keyRing, "utf8")));
  } catch (e) {
    throw new Error(
      `${layout.keyRing} is damaged (${(e as Error).message}): restore it from a backup of GROVE_DIR, or join my other cell again`,
    );
  }
}

/** Write the ring (mode 600, atomically): after a join as mine, or a new key. */
export function saveKeyRing(layout: Layout, ring: KeyRing): void {
  writeFileAtomicSync(layout.keyRing, JSON.stringify(ring.toJSON()) + "\n", SECRET);
}
