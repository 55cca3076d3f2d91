// Joining my cells with the 24 words alone (fleet/words-join), with real cells on loopback:
// A ("laptop") and B ("pi") are my cells; D is a new device that has only A's words and B's
// address. It joins B as one of mine, is introduced to A, lists and opens A's file. The attacks:
// words of a cell that is not mine, words of a removed cell of mine, a vouch made for another
// cell or too old, and a cell at the address that cannot prove it is mine.
import { until } from "../helpers/until.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { FROM_SOURCE, cliJson, destroyCell, runGrove, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { phraseFromSecret } from "../../src/crypto/recovery.ts";
import { checkVouch, makeVouch, ringHoldsWords, wordsIdentity } from "../../src/fleet/words-join.ts";
import { KeyRing } from "../../src/crypto/key-ring.ts";
import type { CellId } from "../../src/core/types.ts";

let A: TestCell, B: TestCell, D: TestCell, E: TestCell, X: TestCell, A2: TestCell | undefined;
const work = tempRoot("grove-words-join-");
const config = { sync_interval_s: 3600 };
const secret = new Uint8Array(randomBytes(5 * 1024 * 1024 + 3));

const wordsOf = (c: TestCell) => phraseFromSecret(loadKeys(resolveLayout({ GROVE_DIR: c.dir, GROVE_HOME: c.home })).root);
const peersOf = (c: TestCell) => cliJson<{ id: string; mine: boolean }[]>(c, ["peers"]);

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  [A, B, D, E, X] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "pi" } }),
    startCell({ config: { ...config, name: "new-phone", home_mode: "on-demand" } }),
    startCell({ config: { ...config, name: "old-tablet" } }),
    startCell({ config: { ...config, name: "stranger" } }),
  ]);
  writeFileSync(join(work, "secret.bin"), secret);
  expect((await A.cli(["put", join(work, "secret.bin"), "--as", "papers/secret.bin"])).code).toBe(0);
  for (const joiner of [B, E]) {
    const invite = await cliJson<{ token: string }>(A, ["invite", "--mine"]);
    expect((await joiner.cli(["join", invite.token])).code).toBe(0);
  }
  // E (an old tablet) is lost: removed from my cells. Its words must no longer admit anyone.
  expect((await A.cli(["peers", "remove", "--mine", cellIdOf(E).slice(0, 12)])).code).toBe(0);
  await until("B to drop E", async () => !(await peersOf(B)).some((p) => p.id === cellIdOf(E)));
}, 60_000);

afterAll(async () => {
  await Promise.all([A, B, D, E, X, A2].map((c) => c && destroyCell(c)));
});

test("words of a cell that is not one of mine are refused, and nothing is kept on either side", async () => {
  const r = await D.cli(["join", "--words", B.peerUrl], { stdin: wordsOf(X) });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/not of this cell nor of one of its cells/);
  expect((await peersOf(B)).some((p) => p.id === cellIdOf(D))).toBe(false);
  expect(await peersOf(D)).toEqual([]);
  // A cell that is not mine refuses the words of one of mine: it has no cell of mine to check them against.
  const s = await D.cli(["join", "--words", X.peerUrl], { stdin: wordsOf(A) });
  expect(s.code).toBe(1);
  expect(s.stderr).toMatch(/not of this cell nor of one of its cells/);
  expect((await peersOf(X)).length).toBe(0);
});

test("the words of a removed cell of mine no longer admit a new cell", async () => {
  const r = await D.cli(["join", "--words", B.peerUrl], { stdin: wordsOf(E) });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/removed from your cells/);
  expect((await peersOf(B)).some((p) => p.id === cellIdOf(D))).toBe(false);
});

test("a wrong word, a wrong address and a misused flag say what to do", async () => {
  const words = wordsOf(A).split(" ");
  words[3] = words[3] === "abandon" ? "ability" : "abandon";
  const bad = await D.cli(["join", "--words", B.peerUrl], { stdin: words.join(" ") });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/recovery phrase/);
  const nowhere = await D.cli(["join", "--words", "not an address"], { stdin: wordsOf(A) });
  expect(nowhere.code).toBe(1);
  expect(nowhere.stderr).toMatch(/http:\/\/HOST:PORT/);
  const own = await D.cli(["join", "--words", B.peerUrl], { stdin: wordsOf(D) });
  expect(own.stderr).toMatch(/this cell's own words/);
  expect((await D.cli(["join", "sometoken", "--words", B.peerUrl])).code).toBe(2);
});

test("a new device with A's words and B's address joins as mine, meets A, lists and opens A's file", async () => {
  const numbered = wordsOf(A)
    .split(" ")
    .map((w, i) => `${i + 1}. ${w}`)
    .join("\n"); // as `grove recovery-phrase` prints them
  const r = await D.cli(["join", "--words", B.peerUrl], { stdin: numbered });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/as one of your cells, with the words/);
  expect((await peersOf(B)).find((p) => p.id === cellIdOf(D))?.mine).toBe(true);
  // B introduces A (and A hears of D from B): D pairs with A by itself.
  await until("D to pair with A", async () => (await peersOf(D)).find((p) => p.id === cellIdOf(A))?.mine);
  await until("A to know D as mine", async () => (await peersOf(A)).find((p) => p.id === cellIdOf(D))?.mine);
  const listed = await until("papers/secret.bin on D", async () =>
    (await cliJson<{ path: string; local: boolean }[]>(D, ["ls"])).find((f) => f.path === "papers/secret.bin"),
  );
  expect(listed.local).toBe(false); // on demand: D holds none of it
  const got = await D.api("/api/files/papers/secret.bin");
  expect(got.status).toBe(200);
  expect(Buffer.compare(Buffer.from(await got.arrayBuffer()), Buffer.from(secret))).toBe(0);
  // D keeps its own identity: A's words made the vouch, they did not become D's.
  expect(cellIdOf(D)).not.toBe(cellIdOf(A));
  expect(wordsOf(D)).not.toBe(wordsOf(A));
});

test("a vouch is bound to the joining cell, the asked cell and the time", () => {
  const w = wordsIdentity(wordsOf(A));
  const joiner = cellIdOf(D) as CellId;
  const target = cellIdOf(B) as CellId;
  const v = makeVouch(w, joiner, target);
  expect(checkVouch(v, joiner, target)).toBe(w.id);
  // Replayed at another cell of mine, or by another joiner: it does not verify.
  expect(() => checkVouch(v, joiner, cellIdOf(A) as CellId)).toThrow(/does not verify/);
  expect(() => checkVouch(v, cellIdOf(X) as CellId, target)).toThrow(/does not verify/);
  expect(() => checkVouch({ ...v, at: v.at + 1 }, joiner, target)).toThrow(/does not verify/);
  expect(() => checkVouch(v, joiner, target, v.at + 11 * 60_000)).toThrow(/too old/);
  expect(() => checkVouch({ by: v.by }, joiner, target)).toThrow(/must carry a vouch/);
  // The joiner's check: a ring without A's master key (an impostor at the address) is not taken.
  const impostor = KeyRing.alone(cellIdOf(X) as CellId, new Uint8Array(32).fill(7)).toJSON();
  expect(ringHoldsWords(impostor, w)).toBe(false);
  expect(ringHoldsWords(KeyRing.alone(w.id, w.masterKey).toJSON(), w)).toBe(true);
});

test("A is lost; recovered from its words with a plain invite from B, it is mine again and its next change reaches my cells", async () => {
  const words = wordsOf(A);
  const aId = cellIdOf(A);
  await destroyCell(A);
  const root = tempRoot("grove-words-recover-");
  const env = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") };
  const token = (await B.cli(["invite"])).stdout.trim(); // a plain invite: B knows A's id as mine
  const rec = await runGrove(FROM_SOURCE, ["recover", "--invite", token], env, { stdin: words });
  expect(rec.code).toBe(0);
  A2 = await startCell({ root });
  expect(cellIdOf(A2)).toBe(aId);
  await until("A2 to be mine on its own side", async () => (await peersOf(A2!)).find((p) => p.id === cellIdOf(B))?.mine);
  await until("A2 to list its tree again", async () =>
    (await cliJson<{ path: string }[]>(A2!, ["ls"])).some((f) => f.path === "papers/secret.bin"),
  );
  // Its next change takes the number after those it made before the loss: my cells keep it.
  writeFileSync(join(work, "after.txt"), "written after the recovery\n");
  expect((await A2.cli(["put", join(work, "after.txt"), "--as", "after.txt"])).code).toBe(0);
  for (const c of [B, D])
    await until(`after.txt on ${c === B ? "B" : "D"}`, async () =>
      (await cliJson<{ path: string }[]>(c, ["ls"])).some((f) => f.path === "after.txt"),
    );
  const got = await D.api("/api/files/after.txt");
  expect(await got.text()).toBe("written after the recovery\n");
}, 60_000);
