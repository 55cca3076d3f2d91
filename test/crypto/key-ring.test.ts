// The key ring of my cells: which key seals, which opens a manifest, and merges that agree.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { KeyRing, keyIdOf } from "../../src/crypto/key-ring.ts";
import { deriveFileKey } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";

const id = (c: string) => c.repeat(64) as CellId;
const key = () => new Uint8Array(randomBytes(32));
const file = "ab".repeat(32);

test("a cell on its own seals with its master key and writes no key_id; it opens only its own manifests", () => {
  const m = key();
  const ring = KeyRing.alone(id("a"), m);
  const s = ring.sealing(file);
  expect(s.keyId).toBeUndefined();
  expect(toHex(s.key)).toBe(toHex(deriveFileKey(m, file)));
  expect(ring.fileKey({ file_hash: file, owner: id("a"), encryption: {} })).not.toBeNull();
  expect(ring.fileKey({ file_hash: file, owner: id("b"), encryption: {} })).toBeNull();
  expect(() => ring.fileKeyOrThrow({ file_hash: file, owner: id("b"), encryption: {} })).toThrow(/does not hold the key of cell/);
});

test("joining: the joiner seals under the owner's key (manifests name it) and opens both cells' older files; the owner's key never moves", () => {
  const [ma, mb] = [key(), key()];
  const a = KeyRing.alone(id("a"), ma);
  const b = KeyRing.alone(id("b"), mb);
  for (let i = 0; i < 20; i++) {
    // Whichever key id is larger, the inviter keeps its key (a tie in epoch 0 never moves it).
    const ra = KeyRing.alone(id("a"), key());
    ra.merge(KeyRing.alone(id("b"), key()).toJSON());
    expect(ra.sealsWithOwnKey).toBe(true);
  }
  a.merge(b.toJSON()); // the inviter takes the joiner's keys
  b.merge(a.toJSON(), true); // the joiner takes the owner's current key
  expect(a.sealsWithOwnKey).toBe(true);
  expect(b.current).toBe(keyIdOf(ma));
  const s = b.sealing(file);
  expect(s.keyId).toBe(keyIdOf(ma));
  expect(toHex(s.key)).toBe(toHex(deriveFileKey(ma, file)));
  expect(a.fileKey({ file_hash: file, owner: id("b"), encryption: {} })).not.toBeNull(); // b's files from before the join
  expect(a.fileKey({ file_hash: file, owner: id("b"), encryption: { key_id: s.keyId } })).not.toBeNull();
});

test("removal: a new key in a new epoch wins every merge, whatever the order; a forged key_id is not taken", () => {
  const a = KeyRing.alone(id("a"), key());
  const b = KeyRing.alone(id("b"), key());
  const c = KeyRing.alone(id("c"), key());
  b.merge(a.toJSON(), true);
  c.merge(a.toJSON(), true);
  const fresh = key();
  a.rotate(fresh, id("c"));
  expect(a.current).toBe(keyIdOf(fresh));
  expect(b.merge(a.toJSON())).toBe(true);
  expect(b.current).toBe(keyIdOf(fresh));
  expect(b.removed).toEqual([id("c")]);
  a.merge(b.toJSON()); // b's own legacy key
  expect(a.current).toBe(keyIdOf(fresh));
  expect(a.merge(b.toJSON())).toBe(false); // a merge is idempotent
  const forged = { ...a.toJSON(), keys: { ["0".repeat(16)]: toHex(key()) } };
  b.merge(forged);
  expect(b.toJSON().keys["0".repeat(16)]).toBeUndefined();
  expect(c.toJSON().keys[keyIdOf(fresh)]).toBeUndefined(); // the removed cell never had it
});
