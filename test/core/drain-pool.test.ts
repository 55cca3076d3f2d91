/**
 * core/drain-pool: work added one piece at a time, while earlier pieces are still in flight, runs
 * beside them up to the pool's size (sync/eager-push had one loop left after its first chunk:
 * every later chunk waited for the one before); never more than that; idle() waits for all.
 */
import { expect, test } from "bun:test";
import { DrainPool } from "../../src/core/drain-pool.ts";

/** A queue of jobs, each finished by the test when it chooses; records how many ran at once. */
function harness(n: number) {
  const queue: number[] = [];
  const open = new Map<number, () => void>();
  const done: number[] = [];
  let now = 0;
  let most = 0;
  const pool = new DrainPool(
    n,
    () => queue.length > 0,
    async () => {
      const job = queue.shift();
      if (job === undefined) return false;
      now++;
      most = Math.max(most, now);
      await new Promise<void>((resolve) => open.set(job, resolve));
      now--;
      done.push(job);
      return true;
    },
  );
  const add = (job: number) => {
    queue.push(job);
    pool.kick();
  };
  const finish = async (job: number) => {
    open.get(job)!();
    open.delete(job);
    await Bun.sleep(0);
  };
  return { pool, add, finish, open, done, most: () => most };
}

test("work added while the first piece is in flight runs beside it, up to n at once", async () => {
  const h = harness(3);
  for (let i = 1; i <= 5; i++) h.add(i); // one at a time, as chunks are stored
  expect([...h.open.keys()]).toEqual([1, 2, 3]);
  expect(h.pool.running).toBe(3);
  await h.finish(2);
  expect([...h.open.keys()].sort()).toEqual([1, 3, 4]);
  await h.finish(1);
  await h.finish(3);
  await h.finish(4);
  await h.finish(5);
  expect(h.done).toEqual([2, 1, 3, 4, 5]);
  expect(h.most()).toBe(3);
  await h.pool.idle();
  expect(h.pool.running).toBe(0);
});

test("a pool drained to empty starts again on the next piece, and idle() waits for work added meanwhile", async () => {
  const h = harness(2);
  h.add(1);
  await h.finish(1);
  await h.pool.idle();
  expect(h.pool.running).toBe(0);
  h.add(2);
  h.add(3);
  h.add(4);
  expect([...h.open.keys()]).toEqual([2, 3]);
  let idle = false;
  const waiting = h.pool.idle().then(() => (idle = true));
  await h.finish(2);
  h.add(5);
  await h.finish(3);
  await h.finish(4);
  expect(idle).toBe(false);
  await h.finish(5);
  await waiting;
  expect(idle).toBe(true);
  expect(h.done).toEqual([1, 2, 3, 4, 5]);
  expect(h.most()).toBe(2);
});

test("a step that throws ends its loop; the others and later work go on", async () => {
  const queue = [1, 2, 3];
  const seen: number[] = [];
  const pool = new DrainPool(
    1,
    () => queue.length > 0,
    async () => {
      const job = queue.shift();
      if (job === undefined) return false;
      seen.push(job);
      if (job === 1) throw new Error("boom");
      return true;
    },
  );
  pool.kick();
  await pool.idle();
  expect(seen).toEqual([1, 2, 3]); // the loop that threw ended, and the pool started another for 2 and 3
});
