/**
 * The plaintext copy a put writes into GROVE_HOME is not fsynced before the put answers
 * (ingest/home-copies): it is recorded as pending with its version. With a real cell killed
 * (kill -9) right after three puts, and the disk left as a power cut could leave it (one copy
 * torn, one never renamed into place, one written since by the user), the restarted cell writes
 * the torn and the missing copies again from the chunks before its watcher looks, the watcher
 * takes neither for an edit, the user's newer copy becomes a new version, and nothing stays
 * pending once the cell is quiet.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync, truncateSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { until } from "../helpers/until.ts";
import { pseudoRandom } from "../helpers/vault.ts";

const config = { watch_debounce_ms: 200 };
let A: TestCell;

const rows = <T>(sql: string, ...args: string[]): T[] => {
  const db = new Database(join(A.dir, "placement.db"), { readonly: true });
  try {
    return db.query(sql).all(...args) as T[];
  } finally {
    db.close();
  }
};
const versions = (path: string) => rows<{ n: number }>("SELECT COUNT(*) AS n FROM file_versions WHERE path = ?", path)[0]!.n;
const put = async (path: string, body: Uint8Array) => {
  const r = await A.api(`/api/files/${path}`, { method: "PUT", body: body as Uint8Array<ArrayBuffer> });
  expect(r.status).toBe(201);
};

beforeAll(async () => {
  A = await startCell({ config });
}, 60_000);
afterAll(async () => {
  await destroyCell(A);
}, 60_000);

test("kill -9 after puts, copies torn or missing on disk: rewritten from the chunks, never taken for an edit", async () => {
  const torn = pseudoRandom(3 * 1024 * 1024 + 5, 1);
  const lost = pseudoRandom(200_000, 2);
  const edited = pseudoRandom(100_000, 3);
  await put("p/torn.bin", torn);
  await put("p/lost.bin", lost);
  await put("p/edited.bin", edited);
  // Recorded as pending in the versions' transactions (the cell settles them 2 s after the last store).
  const pending = rows<{ path: string; at: number }>("SELECT path, at FROM home_pending");
  expect(pending.map((r) => r.path).sort()).toEqual(["p/edited.bin", "p/lost.bin", "p/torn.bin"]);
  A.proc.kill("SIGKILL");
  await A.proc.exited;

  // What a power cut could leave: a copy cut short (with the mtime of the cell's own write), a
  // rename that never reached the disk; and the user's own write made since.
  const at = (p: string) => pending.find((r) => r.path === p)!.at;
  const tornPath = join(A.home, "p", "torn.bin");
  truncateSync(tornPath, 1024 * 1024);
  utimesSync(tornPath, new Date(at("p/torn.bin") - 50), new Date(at("p/torn.bin") - 50));
  rmSync(join(A.home, "p", "lost.bin"));
  const mine = new TextEncoder().encode("the user's own words, written after the put\n");
  writeFileSync(join(A.home, "p", "edited.bin"), mine);

  A = await startCell({ root: A.root, config });
  await until("the user's edit stored as a new version", () => versions("p/edited.bin") === 2, 20_000);
  expect(Buffer.compare(readFileSync(tornPath), Buffer.from(torn))).toBe(0);
  expect(existsSync(join(A.home, "p", "lost.bin"))).toBe(true);
  expect(Buffer.compare(readFileSync(join(A.home, "p", "lost.bin")), Buffer.from(lost))).toBe(0);
  expect(Buffer.compare(readFileSync(join(A.home, "p", "edited.bin")), Buffer.from(mine))).toBe(0);
  // Give the watcher time to look at the rewritten copies too: neither becomes a version.
  await Bun.sleep(1500);
  expect(versions("p/torn.bin")).toBe(1);
  expect(versions("p/lost.bin")).toBe(1);
  expect(A.output()).toContain("written again from the chunks");
  await until(
    "nothing pending once quiet",
    () => rows("SELECT path FROM home_pending").length + rows("SELECT manifest_file FROM manifest_pending").length === 0,
    20_000,
  );
}, 120_000);
