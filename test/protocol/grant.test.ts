import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex, type CellId, type ManifestHash } from "../../src/core/types.ts";
import {
  chunksDigest,
  grantId,
  isExpired,
  makeGrant,
  makeRevocation,
  openFileKey,
  verifyGrant,
  verifyPass,
  verifyRevocation,
} from "../../src/protocol/grant.ts";

const alice = deriveIdentity(new Uint8Array(32).fill(1));
const bob = deriveIdentity(new Uint8Array(32).fill(2));
const carol = deriveIdentity(new Uint8Array(32).fill(3));
const id = (x: typeof alice) => toHex(x.ed25519Public) as CellId;
const fileKey = new Uint8Array(randomBytes(32));
const chunks = ["aa".repeat(32), "bb".repeat(32)];

const make = (expiresAt: number | null = null) =>
  makeGrant({
    creatorSecret: alice.ed25519Secret,
    creator: id(alice),
    recipient: id(bob),
    recipientX25519: bob.x25519Public,
    manifestHash: "cd".repeat(32) as ManifestHash,
    fileKey,
    chunks,
    filename: "a.txt",
    fileType: "text/plain",
    totalSize: 10,
    expiresAt,
  });

describe("grants", () => {
  test("a grant and its pass verify; the id is stable; only the recipient opens the key", async () => {
    const { grant, pass, id: gid } = await make();
    expect(verifyGrant(JSON.parse(JSON.stringify(grant)))).toEqual(grant);
    expect(grantId(grant)).toBe(gid);
    expect(verifyPass(pass).grant_id).toBe(gid);
    expect(pass.chunks_digest).toBe(chunksDigest(chunks));
    expect(Buffer.from(await openFileKey(bob, grant))).toEqual(Buffer.from(fileKey));
    await expect(openFileKey(carol, grant)).rejects.toThrow(/does not open/);
  });

  test("one kind of signed object does not pass as another", async () => {
    const { grant, pass } = await make();
    const rev = makeRevocation(alice.ed25519Secret, id(alice), grantId(grant));
    expect(verifyRevocation(rev).grant_id).toBe(grantId(grant));
    expect(() => verifyPass({ ...rev, type: "fetch-pass" })).toThrow();
    expect(() => verifyGrant({ ...pass, type: "grant" })).toThrow();
    expect(() => verifyRevocation({ ...rev, owner: id(carol) })).toThrow(/signature/);
  });

  test("a file type that is not a plain MIME type is refused (it ends up in Content-Type)", async () => {
    const bad = await makeGrant({
      creatorSecret: alice.ed25519Secret,
      creator: id(alice),
      recipient: id(bob),
      recipientX25519: bob.x25519Public,
      manifestHash: "cd".repeat(32) as ManifestHash,
      fileKey,
      chunks,
      filename: "a.html",
      fileType: "text/html\r\nSet-Cookie: x=1",
      totalSize: 10,
      expiresAt: null,
    });
    expect(() => verifyGrant(bad.grant)).toThrow(/file_type/);
  });

  test("a file name with a control, bidi or invisible character is refused, without quoting it", async () => {
    for (const [filename, expected] of [
      ["evil\x1b[2J.txt", /^grant: filename: contains a control character \(U\+001B\) at position 5/],
      ["a\nb", /filename: contains a control character \(U\+000A\)/],
      ["invoice\u202Efdp.exe", /filename: contains a bidi control \(U\+202E\)/],
      ["x\u2067y", /filename: contains a bidi control \(U\+2067\)/],
      ["pay\u200Bpal.pdf", /filename: contains an invisible formatting character \(U\+200B\)/],
    ] as const) {
      const bad = await makeGrant({
        creatorSecret: alice.ed25519Secret,
        creator: id(alice),
        recipient: id(bob),
        recipientX25519: bob.x25519Public,
        manifestHash: "cd".repeat(32) as ManifestHash,
        fileKey,
        chunks,
        filename,
        fileType: "text/plain",
        totalSize: 10,
        expiresAt: null,
      });
      let why = "";
      try {
        verifyGrant(bad.grant);
      } catch (e) {
        why = (e as Error).message;
        expect((e as { status?: number }).status).toBe(400);
      }
      expect(why).toMatch(expected);
      expect(why).not.toContain(filename);
    }
    // Names a local file could not take as they are (made safe on download), but that print as they are: accepted.
    for (const filename of [".bashrc", "../../x", "a/b", "CON", "東京.txt", "👩‍💻.png"]) {
      const ok = await makeGrant({
        creatorSecret: alice.ed25519Secret,
        creator: id(alice),
        recipient: id(bob),
        recipientX25519: bob.x25519Public,
        manifestHash: "cd".repeat(32) as ManifestHash,
        fileKey,
        chunks,
        filename,
        fileType: "text/plain",
        totalSize: 10,
        expiresAt: null,
      });
      expect(verifyGrant(ok.grant).filename).toBe(filename);
    }
  });

  test("expiry", async () => {
    const { grant } = await make(1000);
    expect(isExpired(grant, 999)).toBe(false);
    expect(isExpired(grant, 1000)).toBe(true);
    expect(isExpired((await make(null)).grant, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
