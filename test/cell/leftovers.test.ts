/**
 * cell/leftovers: what a killed cell leaves (atomic-write temps, the spool, upload spools in
 * GROVE_HOME) is cleared at start; an upload whose version was recorded but not renamed into
 * place is finished, byte-identical; real files are never touched.
 */
import {} from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clearLeftovers } from "../../src/cell/leftovers.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import { openTempCell, pseudoRandom, streamOf } from "../helpers/vault.ts";

let cell: ReturnType<typeof openTempCell>;
beforeAll(() => {
  cell = openTempCell();
});
afterAll(() => cell.destroy());

describe("clearLeftovers", () => {
  test("removes temp files, keeps real ones, finishes a recorded upload", async () => {
    const { layout } = cell;
    const data = pseudoRandom(300_000, 3);
    const r = await ingest(cell.vault, safePath("docs/kept.bin"), streamOf(data), { maxBytes: 1 << 30 });
    const chunk = r.manifest.chunks[0]!.hash;
    // A killed upload whose version was recorded: the file is still in its spool.
    const data2 = pseudoRandom(70_000, 4);
    await ingest(cell.vault, safePath("docs/renamed-late.bin"), streamOf(data2), { maxBytes: 1 << 30 });
    const spool = join(layout.home, "docs", ".grove-upload-0123456789ab");
    renameSync(join(layout.home, "docs", "renamed-late.bin"), spool);
    await cell.vault.settler!.now(); // the manifests' files written (store/manifest-settle)
    // Temps that never reached their rename.
    const chunkTemp = join(layout.chunks, chunk.slice(0, 2), `.${chunk}.tmp-abcdef012345`);
    const manifestTemp = join(layout.manifests, "docs", ".kept.bin.12345678.json.tmp-0a0b0c0d0e0f");
    const stateTemp = join(layout.dir, ".peer_health.json.tmp-00aa11bb22cc");
    const deadSpool = join(layout.home, ".grove-upload-ffffffffffff");
    const watcherSpool = join(layout.tmp, ".grove-upload-eeeeeeeeeeee");
    // This build's temp names (core/atomic), in GROVE_DIR and in GROVE_HOME (a restore being written).
    const newChunkTemp = join(layout.chunks, chunk.slice(0, 2), ".grove-tmp-0123456789abcdef");
    const newManifestTemp = join(layout.manifests, "docs", ".grove-tmp-fedcba9876543210");
    const homeTemp = join(layout.home, "docs", ".grove-tmp-00112233445566ff");
    for (const p of [chunkTemp, manifestTemp, stateTemp, deadSpool, watcherSpool, newChunkTemp, newManifestTemp, homeTemp])
      writeFileSync(p, "half");
    // A user's file that merely looks odd stays (in GROVE_HOME the old temp form is a user's name).
    mkdirSync(join(layout.home, "notes"), { recursive: true });
    writeFileSync(join(layout.home, "notes", "x.tmp-123"), "mine");
    writeFileSync(join(layout.home, "notes", ".y.txt.tmp-0a0b"), "mine too");

    const rep = clearLeftovers(layout, cell.db);
    expect(rep.finished).toEqual(["docs/renamed-late.bin"]);
    expect(rep.removed).toBe(8);
    for (const p of [chunkTemp, manifestTemp, stateTemp, deadSpool, watcherSpool, spool, newChunkTemp, newManifestTemp, homeTemp])
      expect(existsSync(p)).toBe(false);
    expect(readFileSync(join(layout.home, "notes", ".y.txt.tmp-0a0b"), "utf8")).toBe("mine too");
    expect(Buffer.compare(readFileSync(join(layout.home, "docs", "renamed-late.bin")), data2)).toBe(0);
    expect(Buffer.compare(readFileSync(join(layout.home, "docs", "kept.bin")), data)).toBe(0);
    expect(cell.store.has(chunk)).toBe(true);
    expect(readFileSync(join(layout.home, "notes", "x.tmp-123"), "utf8")).toBe("mine");
  });

  test("a spool whose content no recorded version has is removed, not moved into place", () => {
    const { layout } = cell;
    const target = join(layout.home, "docs", "renamed-late.bin");
    rmSync(target); // its recorded version has no file: a candidate, but the content differs
    const spool = join(layout.home, "docs", ".grove-upload-aaaaaaaaaaaa");
    writeFileSync(spool, pseudoRandom(70_000, 99));
    const rep = clearLeftovers(layout, cell.db);
    expect(rep.finished).toEqual([]);
    expect(rep.removed).toBe(1);
    expect(existsSync(spool)).toBe(false);
    expect(existsSync(target)).toBe(false);
  });
});
