/**
 * @module bounty/allowance — may a peer push one more chunk here? (docs/design.md: Bounty.) A peer whose
 * balance as seen here (what it keeps for this cell − what this cell keeps for it), less the new
 * chunk, would fall below −bounty_allowance_bytes is refused with 402, unless it is exempt (a
 * favorite or a friend, as config says). The rule is pure (`checkAllowance`); `BountyGate`
 * applies it to a cell's placement.db, counting pushes still being written so that parallel
 * pushes cannot all slip under the limit together.
 */
import type { Database } from "bun:sqlite";
import { GroveError } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import type { PeerRow, PeerStore } from "../fleet/peer-store.ts";
import { formatBytes, shortId } from "../core/format.ts";
import { BountyLedger } from "./ledger.ts";
import type { Exemption } from "./types.ts";

/** The config keys the allowance reads. */
export interface AllowanceConfig {
  bounty_allowance_bytes: number;
  bounty_exempt_favorites: boolean;
  bounty_exempt_friends: boolean;
}

/** Why `peer` is exempt from the allowance under `config`, or null. */
export function exemptionOf(peer: Pick<PeerRow, "favorite" | "friend">, config: AllowanceConfig): Exemption {
  if (config.bounty_exempt_favorites && peer.favorite) return "favorite";
  if (config.bounty_exempt_friends && peer.friend) return "friend";
  return null;
}

/** True when a balance is below the allowance (and the peer is not exempt). */
export function overAllowance(balance: number, allowance: number, exempt: boolean): boolean {
  return !exempt && balance < -allowance;
}

export interface AllowanceInput {
  /** Bytes of our chunks the peer keeps. */
  received: number;
  /** Bytes of its chunks this cell keeps (pushes being written included). */
  given: number;
  /** The new chunk's size. */
  size: number;
  allowance: number;
  exempt: boolean;
}

/**
 * Null when the chunk may be kept, else the reason it may not.
 *
 * @example checkAllowance({ received: 0, given: 4 << 20, size: 4 << 20, allowance: 6 << 20, exempt: false }, "pi (3fa9c2d1)")
 */
export function checkAllowance(i: AllowanceInput, peer = "the peer"): string | null {
  if (!overAllowance(i.received - i.given - i.size, i.allowance, i.exempt)) return null;
  return `cell ${peer} is over its bounty allowance here: it keeps ${formatBytes(i.received)} for this cell, this cell keeps ${formatBytes(i.given)} for it, allowance ${formatBytes(i.allowance)} (this chunk: ${formatBytes(i.size)})`;
}

/** A chunk refused because its owner is over its bounty allowance: the owner places it elsewhere. */
export class OverAllowanceError extends GroveError {
  constructor(message: string) {
    super(message, 402, "over_allowance");
  }
}

/** The allowance applied to incoming chunks (web/peer-sync-api). */
export class BountyGate {
  private ledger: BountyLedger;
  /** Bytes of pushes admitted but not yet recorded in `held`, per owner. */
  private pending = new Map<CellId, number>();

  constructor(
    db: Database,
    private peers: Pick<PeerStore, "get">,
    private config: AllowanceConfig,
  ) {
    this.ledger = new BountyLedger(db);
  }

  /**
   * Admit a new chunk of `size` bytes from `peer`, or throw OverAllowanceError. Call the
   * returned function once the chunk is stored (or failed): until then its bytes count.
   */
  admit(peer: CellId, size: number): () => void {
    return this.admitter(peer)(size);
  }

  /**
   * `admit` for many chunks of one request (a batch): what `peer` has given and received is read
   * once, not once per chunk (each read sums every chunk kept for it).
   */
  admitter(peer: CellId): (size: number) => () => void {
    const row = this.peers.get(peer);
    const exempt = row !== null && exemptionOf(row, this.config) !== null;
    let now: { given: number; received: number } | null = null;
    return (size) => this.admitOne(peer, size, row, exempt, (now ??= this.ledger.current(peer)));
  }

  private admitOne(
    peer: CellId,
    size: number,
    row: ReturnType<Pick<PeerStore, "get">["get"]>,
    exempt: boolean,
    now: { given: number; received: number },
  ): () => void {
    if (!exempt) {
      const pending = this.pending.get(peer) ?? 0;
      const label = row ? `${row.name} (${shortId(peer)})` : shortId(peer);
      const why = checkAllowance(
        { received: now.received, given: now.given + pending, size, allowance: this.config.bounty_allowance_bytes, exempt },
        label,
      );
      if (why) throw new OverAllowanceError(why);
    }
    this.pending.set(peer, (this.pending.get(peer) ?? 0) + size);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.pending.get(peer) ?? 0) - size;
      if (left > 0) this.pending.set(peer, left);
      else this.pending.delete(peer);
    };
  }
}
