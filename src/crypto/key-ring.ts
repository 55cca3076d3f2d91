/**
 * @module crypto/key-ring — the file keys of an owner's cells (docs/design.md, "One tree across my
 * cells"): which key seals this cell's new files, and which opens a given manifest.
 *
 * A key is named by its `key_id`: 16 hex of HKDF(key, "grove/v1/key-id"). A manifest that names
 * a key_id was sealed under that key; one without was sealed under the master key of its `owner`
 * cell (every manifest before "my cells", and every manifest of a cell that never joined another
 * as mine: such a cell keeps writing manifests exactly as before). A cell on its own holds only
 * its own master key, under both names. Joining as mine adds the other cells' keys and makes the
 * owner's current key the one new files are sealed under.
 */
import { z } from "zod";
import { hkdfSha256, deriveFileKey } from "./keys.ts";
import { forbidden } from "../core/errors.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";

const KEY_ID_LABEL = new TextEncoder().encode("grove/v1/key-id");

export function keyIdOf(key: Uint8Array): string {
  return toHex(hkdfSha256(key, undefined, KEY_ID_LABEL, 8));
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** The ring as stored in GROVE_DIR/keyring.json and as sent, sealed, to a joining cell of mine. */
export const KeyRingSchema = z.object({
  /** key_id of the key new files are sealed under. */
  current: z.string().regex(/^[0-9a-f]{16}$/),
  /** Every file key by its key_id. */
  keys: z.record(z.string().regex(/^[0-9a-f]{16}$/), hex64),
  /** The master key of each cell by cell id: it opens that cell's manifests that name no key_id. */
  legacy: z.record(hex64, hex64),
  /** How many times a new current key was made (a cell of mine removed): the higher epoch's current key wins a merge. */
  epoch: z.number().int().nonnegative().default(0),
  /** Cells removed from my cells: refused by every cell of mine that hears of it. */
  removed: z.array(hex64).max(10_000).default([]),
});
export type KeyRingData = z.output<typeof KeyRingSchema>;

/** What a manifest says of its key. */
export interface KeyedManifest {
  file_hash: string;
  owner: string;
  encryption: { key_id?: string };
}

export class KeyRing {
  private constructor(
    private readonly self: CellId,
    private readonly ownMaster: Uint8Array,
    private data: KeyRingData,
  ) {}

  /** The ring of a cell on its own: its master key is its current key. */
  static alone(self: CellId, master: Uint8Array): KeyRing {
    const id = keyIdOf(master);
    return new KeyRing(self, master, {
      current: id,
      keys: { [id]: toHex(master) },
      legacy: { [self]: toHex(master) },
      epoch: 0,
      removed: [],
    });
  }

  /** A stored ring; refuses one that lacks this cell's own master key or its current key. */
  static load(self: CellId, master: Uint8Array, raw: unknown): KeyRing {
    const data: KeyRingData = KeyRingSchema.parse(raw);
    const own = toHex(master);
    if (data.legacy[self] !== undefined && data.legacy[self] !== own)
      throw new Error("keyring.json names another master key for this cell");
    if (!data.keys[data.current]) throw new Error("keyring.json has no key for its current key_id");
    data.legacy[self] = own;
    data.keys[keyIdOf(master)] = own;
    return new KeyRing(self, master, data);
  }

  /** True when new files are sealed under this cell's own master key (manifests then name no key_id). */
  get sealsWithOwnKey(): boolean {
    return this.data.current === (this.ownKeyId ??= keyIdOf(this.ownMaster));
  }
  private ownKeyId: string | undefined;

  /** The key new files are sealed under, and the key_id their manifests carry (none for the cell's own key). */
  sealing(fileHashHex: string): { key: Uint8Array; keyId?: string } {
    const master = fromHex(this.data.keys[this.data.current]!);
    return { key: deriveFileKey(master, fileHashHex), ...(this.sealsWithOwnKey ? {} : { keyId: this.data.current }) };
  }

  /** The file key of `m`, or null when this cell holds no key that opens it. */
  fileKey(m: KeyedManifest): Uint8Array | null {
    const hex = m.encryption.key_id ? this.data.keys[m.encryption.key_id] : this.data.legacy[m.owner];
    return hex ? deriveFileKey(fromHex(hex), m.file_hash) : null;
  }

  /** `fileKey`, or a 403 that says why (a manifest of a cell that is not one of mine, or of a later key). */
  fileKeyOrThrow(m: KeyedManifest & { source_path?: string }): Uint8Array {
    const k = this.fileKey(m);
    if (!k) {
      const what = m.encryption.key_id ? `key ${m.encryption.key_id}` : `the key of cell ${m.owner.slice(0, 8)}`;
      throw forbidden(`this cell does not hold ${what}, which '${m.source_path ?? m.file_hash.slice(0, 12)}' is sealed under`);
    }
    return k;
  }

  /**
   * Take the keys of another of my cells. Its current key becomes ours when `join` (a cell joining
   * an owner takes the owner's key), or when its epoch is higher (a removal made a new key), ties
   * of two removals at once going to the larger key_id, so my cells agree whatever order they hear
   * of each other in.
   * Returns true when anything changed.
   */
  merge(other: unknown, join = false): boolean {
    const o = KeyRingSchema.parse(other);
    const before = JSON.stringify(this.data);
    for (const [id, k] of Object.entries(o.keys)) if (keyIdOf(fromHex(k)) === id) this.data.keys[id] = k;
    for (const [cell, k] of Object.entries(o.legacy)) if (cell !== this.self) this.data.legacy[cell] = k;
    for (const r of o.removed) if (!this.data.removed.includes(r) && r !== this.self) this.data.removed.push(r);
    // Epoch 0 is the first cell's key, which every cell takes when it joins: a cell's own key never wins a tie.
    const later = o.epoch > this.data.epoch || (o.epoch === this.data.epoch && o.epoch > 0 && o.current > this.data.current);
    if (this.data.keys[o.current] && (join || later)) {
      this.data.current = o.current;
      this.data.epoch = Math.max(this.data.epoch, o.epoch);
    }
    return JSON.stringify(this.data) !== before;
  }

  /** Remove a cell of mine: a new random current key in a new epoch (the old keys stay, to open older files). */
  rotate(fresh: Uint8Array, removed: CellId): string {
    const id = keyIdOf(fresh);
    this.data.keys[id] = toHex(fresh);
    this.data.current = id;
    this.data.epoch++;
    if (!this.data.removed.includes(removed)) this.data.removed.push(removed);
    return id;
  }

  /** Cells removed from my cells (this one never among them). */
  get removed(): readonly string[] {
    return this.data.removed;
  }

  get current(): string {
    return this.data.current;
  }

  toJSON(): KeyRingData {
    return { ...this.data, keys: { ...this.data.keys }, legacy: { ...this.data.legacy }, removed: [...this.data.removed] };
  }
}
