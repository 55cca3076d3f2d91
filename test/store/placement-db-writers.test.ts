// Versions recorded on one connection while another (as the sync Worker's) commits all the time:
// none is refused with "database is locked" (a transaction that reads before it writes must take
// the write lock first: IMMEDIATE).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { ChunkHash, FileHash, ManifestHash } from "../../src/core/types.ts";
import type { NewVersion } from "../../src/store/placement-db.ts";
import { openTempCell } from "../helpers/vault.ts";

const hex = () => randomBytes(32).toString("hex");

function version(path: string): NewVersion {
  const chunk = hex() as ChunkHash;
  return {
    path,
    manifestHash: hex() as ManifestHash,
    manifestFile: `${path}.${hex().slice(0, 8)}.json`,
    fileHash: hex() as FileHash,
    totalSize: 10,
    owner: "a".repeat(64),
    chunks: [{ hash: chunk, size: 26, index: 0 }],
    createdAt: Date.now(),
  };
}

test("addVersions and addVersion while another connection commits without pause: every version recorded", async () => {
  const cell = openTempCell();
  const dbFile = join(cell.layout.dir, "placement.db");
  // The other writer: a Worker on its own connection, committing small transactions in a loop.
  const script = join(cell.root, "writer.ts");
  writeFileSync(
    script,
    `import { Database } from "bun:sqlite";
     const db = new Database(${JSON.stringify(dbFile)});
     db.exec("PRAGMA busy_timeout = 5000");
     const ins = db.query("INSERT OR REPLACE INTO placements (chunk_hash, cell_id, confirmed_at, size) VALUES (?, ?, ?, ?)");
     let n = 0;
     self.onmessage = () => { stop = true; };
     let stop = false;
     const loop = () => {
       for (let i = 0; i < 20 && !stop; i++) db.transaction(() => ins.run(crypto.randomUUID(), "peer", Date.now(), 1))(), n++;
       if (stop) { db.close(); postMessage(n); } else setTimeout(loop, 0);
     };
     postMessage("ready");
     loop();`,
  );
  const w = new Worker(script);
  const ready = Promise.withResolvers<void>();
  const done = new Promise<number>((resolve) => {
    w.onmessage = (ev) => {
      if (ev.data === "ready") ready.resolve();
      if (typeof ev.data === "number") resolve(ev.data);
    };
  });
  await ready.promise;
  try {
    let recorded = 0;
    const t0 = Date.now();
    for (let round = 0; round < 300; round++) {
      if (round === 299 && Date.now() - t0 < 1000) await Bun.sleep(1000 - (Date.now() - t0)); // the other connection well under way
      if (round % 2)
        recorded += cell.db.addVersions([version(`many/${round}-a`), version(`many/${round}-b`), version(`many/${round}-a`)]).length;
      else recorded += cell.db.addVersion(version(`one/${round}`)) ? 1 : 0;
      await Bun.sleep(0);
    }
    w.postMessage("stop");
    const theirs = await done;
    expect(theirs).toBeGreaterThan(50); // the other connection did commit meanwhile
    expect(recorded).toBe(150 * 3 + 150);
    expect(cell.db.versions("many/1-a").map((v) => v.version)).toEqual([2, 1]);
  } finally {
    w.terminate();
    cell.destroy();
  }
}, 60_000);
