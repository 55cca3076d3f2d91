/**
 * sync/liveness on a fake clock: the stall watch aborts a transfer whose peer stops answering
 * pings after STALL_CHECK_MS + STALL_PING_TIMEOUT_MS, leaves a slow peer that still answers alone,
 * and concurrent failures share one re-check. No real seconds are waited.
 */
import { describe, expect, test } from "bun:test";
import { PeerLiveness, RECHECK_TIMEOUT_MS, STALL_CHECK_MS, STALL_PING_TIMEOUT_MS, type Clock } from "../../src/sync/liveness.ts";
import type { CellId } from "../../src/core/types.ts";

/** Timers that fire only when the test moves time on. */
class FakeClock implements Clock {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Move time on by `ms`, firing every timer that falls due (in order), promises settled between. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const A = "a".repeat(64) as CellId;
const B = "b".repeat(64) as CellId;
const C = "c".repeat(64) as CellId;

/**
 * A peer's answers to pings: "up" answers at once, "slow" just before the ping times out,
 * "silent" never, "down" refuses at once.
 */
type PeerState = "up" | "slow" | "silent" | "down";

function rig(states: Record<CellId, PeerState>) {
  const clock = new FakeClock();
  const pings: { peer: CellId; timeoutMs: number }[] = [];
  const silent: CellId[] = [];
  const liveness = new PeerLiveness({
    peers: new Set(Object.keys(states) as CellId[]),
    ping: (peer, timeoutMs) => {
      pings.push({ peer, timeoutMs });
      const s = states[peer];
      if (s === "up") return Promise.resolve();
      if (s === "slow") return new Promise<void>((resolve) => clock.setTimeout(resolve, timeoutMs - 1));
      if (s === "down") return Promise.reject(new Error("refused"));
      return new Promise(() => {});
    },
    onSilent: (peer) => silent.push(peer),
    clock,
  });
  return { clock, pings, silent, liveness };
}

/** A transfer that ends only when told to, or when its signal aborts. */
function pendingTransfer() {
  let finish!: (v: string) => void;
  let signal!: AbortSignal;
  const fn = (s: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      signal = s;
      finish = resolve;
      s.addEventListener("abort", () => reject(s.reason), { once: true });
    });
  return { fn, finish: (v: string) => finish(v), signal: () => signal };
}

describe("the stall watch over a transfer", () => {
  test("a peer that stops answering pings has its transfer aborted after the check and the ping timeout", async () => {
    const { clock, pings, liveness } = rig({ [A]: "silent" });
    const t = pendingTransfer();
    let outcome: unknown = null;
    const run = liveness.transfer(A, t.fn).then(
      () => (outcome = "finished"),
      (e) => (outcome = e),
    );
    await clock.advance(STALL_CHECK_MS - 1);
    expect(pings).toEqual([]);
    await clock.advance(1);
    expect(pings).toEqual([{ peer: A, timeoutMs: STALL_PING_TIMEOUT_MS }]);
    await clock.advance(STALL_PING_TIMEOUT_MS - 1);
    expect(outcome).toBeNull();
    expect(t.signal().aborted).toBe(false);
    await clock.advance(1);
    await run;
    expect(t.signal().aborted).toBe(true);
    expect(String(outcome)).toContain(`no answer to a ping for ${STALL_PING_TIMEOUT_MS / 1000} s`);
    expect(clock.now).toBe(STALL_CHECK_MS + STALL_PING_TIMEOUT_MS);
    expect(clock.pending).toBe(0);
  });

  test("a slow peer that still answers pings keeps its transfer, pinged again after each check", async () => {
    const { clock, pings, liveness } = rig({ [A]: "slow" });
    const t = pendingTransfer();
    const run = liveness.transfer(A, t.fn);
    // Each watch: STALL_CHECK_MS, then a ping answered 1 ms before its timeout.
    const cycle = STALL_CHECK_MS + STALL_PING_TIMEOUT_MS - 1;
    await clock.advance(cycle * 5);
    expect(pings.length).toBe(5);
    expect(t.signal().aborted).toBe(false);
    t.finish("done");
    expect(await run).toBe("done");
    await clock.advance(cycle * 3);
    expect(pings.length).toBe(5); // no watch once the transfer ended
    expect(clock.pending).toBe(0);
  });

  test("concurrent transfers to one peer share its ping and are aborted together", async () => {
    const { clock, pings, liveness } = rig({ [A]: "silent" });
    const t1 = pendingTransfer();
    const t2 = pendingTransfer();
    const r1 = liveness.transfer(A, t1.fn).catch((e) => e);
    const r2 = liveness.transfer(A, t2.fn).catch((e) => e);
    await clock.advance(STALL_CHECK_MS + STALL_PING_TIMEOUT_MS);
    expect(pings.length).toBe(1);
    expect(String(await r1)).toContain("no answer to a ping");
    expect(String(await r2)).toContain("no answer to a ping");
  });

  test("a transfer that finishes before the check pings nobody", async () => {
    const { clock, pings, liveness } = rig({ [A]: "silent" });
    expect(await liveness.transfer(A, async () => 7)).toBe(7);
    await clock.advance(STALL_CHECK_MS * 2);
    expect(pings).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe("the re-check after a call got no answer", () => {
  test("concurrent failures share one re-check; silent peers leave the round, the others stay", async () => {
    const { clock, pings, silent, liveness } = rig({ [A]: "up", [B]: "silent", [C]: "down" });
    const first = liveness.recheck();
    const second = liveness.recheck();
    expect(second).toBe(first);
    expect(pings.map((p) => p.peer).sort()).toEqual([A, B, C]);
    expect(pings.every((p) => p.timeoutMs === RECHECK_TIMEOUT_MS)).toBe(true);

    // `usable` waits for the re-check in progress.
    let usableA = null as boolean | null;
    void liveness.usable(A).then((u) => (usableA = u));
    await clock.advance(RECHECK_TIMEOUT_MS - 1);
    expect(usableA).toBeNull();
    expect(silent).toEqual([C]);
    await clock.advance(1);
    await first;
    expect(usableA).toBe(true);
    expect(silent.sort()).toEqual([B, C]);
    expect(liveness.live()).toEqual([A]);
    expect(await liveness.usable(B)).toBe(false);

    // A later failure starts a new re-check, of the peers still in the round only.
    const third = liveness.recheck();
    expect(third).not.toBe(first);
    await third;
    expect(pings.length).toBe(4);
    expect(pings[3]!.peer).toBe(A);
  });

  test("a failed peer is out of the round; a peer not reached is never in it", async () => {
    const { liveness } = rig({ [A]: "up", [B]: "up" });
    liveness.fail(A);
    expect(liveness.inRound(A)).toBe(false);
    expect(liveness.inRound(B)).toBe(true);
    expect(liveness.inRound(C)).toBe(false);
    expect(await liveness.usable(A)).toBe(false);
    expect(liveness.live()).toEqual([B]);
  });
});
