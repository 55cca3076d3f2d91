/**
 * Crash safety, a handful of cycles of the soak (bench/soak.ts runs 50+): two real cells, each
 * cycle SIGKILLs one at a random moment during a put (CLI, HTTP), a sync round, a share fetched
 * through the feed, or a delete + purge + trash collection, restarts it on the same GROVE_DIR and
 * port, and checks fsck on both cells, every acknowledged put byte-identical, no temp file left,
 * and that the cells still sync (bench/lib/soak.ts). The seed is printed so a failure can be
 * repeated: `bun bench/soak.ts --seed N`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tempRoot } from "../helpers/cell.ts";
import { SoakRig, cycleLine, summarize, type CycleResult, type OpKind } from "../../bench/lib/soak.ts";

const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const ops: OpKind[] = ["put-cli-large", "put-http-small", "sync", "share", "delete"];
let rig: SoakRig;

beforeAll(async () => {
  rig = await SoakRig.start({
    work: tempRoot("grove-soak-"),
    seed,
    large: [4 * 1024 * 1024 + 1, 9 * 1024 * 1024],
    small: [0, 64 * 1024],
    say: () => {},
    calibrationRuns: 1,
    opTimeoutMs: 30_000,
  });
  await rig.calibrate(["put-cli-large", "put-http-large", "put-http-small", "sync", "share", "delete"]);
}, 60_000);

afterAll(async () => {
  await rig?.stop(true);
});

test(`crash-kill soak, ${ops.length} cycles (seed ${seed}): nothing lost, nothing corrupt, nothing left over`, async () => {
  const results: CycleResult[] = [];
  for (const [i, op] of ops.entries()) {
    const r = await rig.cycle(i + 1, op);
    results.push(r);
    if (!r.ok)
      console.error(
        `${cycleLine(r)}\n  ${[...r.lost, ...r.corrupt_files, ...r.orphans_after_round, ...r.sync_errors, ...r.notes].join("\n  ")}\n${rig.outputs()}`,
      );
  }
  const s = summarize(results);
  expect({
    seed,
    fatal: s.fatal,
    unrepaired: s.unrepaired,
    lost: s.lost_files,
    corrupt_files: s.corrupt_files,
    corrupt_chunks: s.corrupt_chunks,
    orphans: s.orphans_after_round,
    orphans_at_start: s.orphans_at_start,
    sync_failures: s.sync_failures,
  }).toEqual({
    seed,
    fatal: 0,
    unrepaired: 0,
    lost: 0,
    corrupt_files: 0,
    corrupt_chunks: 0,
    orphans: 0,
    orphans_at_start: 0,
    sync_failures: 0,
  });
  expect(s.failed_cycles).toEqual([]);
}, 60_000);
