/**
 * @module tree/version-vector — what each of my cells has of the others' tree events, so two cells
 * exchange only what one lacks (docs/design.md, "One tree across my cells"). A vector maps each
 * origin to the highest `seq` held without a gap; events arrive in any order and any number of
 * times, and `EventSet` keeps each once.
 */
import type { CellId } from "../core/types.ts";
import { eventId, type EventId, type TreeEvent } from "./events.ts";

/** origin → the highest seq held with every seq below it. */
export type VersionVector = Readonly<Record<CellId, number>>;

/** A cell's tree events, with the vector that describes them. */
export class EventSet {
  private readonly byId = new Map<EventId, TreeEvent>();
  private readonly contiguous = new Map<CellId, number>();
  /** Each origin's events by seq (index seq - 1; holes where one has not arrived). */
  private readonly byOrigin = new Map<CellId, TreeEvent[]>();

  constructor(events: Iterable<TreeEvent> = []) {
    for (const e of events) this.add(e);
  }

  /** Keep `e`; false when it was held already (idempotent). */
  add(e: TreeEvent): boolean {
    const id = eventId(e);
    if (this.byId.has(id)) return false;
    this.byId.set(id, e);
    let list = this.byOrigin.get(e.origin);
    if (!list) this.byOrigin.set(e.origin, (list = []));
    list[e.seq - 1] = e;
    let top = this.contiguous.get(e.origin) ?? 0;
    while (this.byId.has(`${e.origin}:${top + 1}`)) top++;
    this.contiguous.set(e.origin, top);
    return true;
  }

  get(id: EventId): TreeEvent | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  events(): IterableIterator<TreeEvent> {
    return this.byId.values();
  }

  /** The next seq for events made by `origin` here. */
  nextSeq(origin: CellId): number {
    return (this.contiguous.get(origin) ?? 0) + 1;
  }

  vector(): VersionVector {
    return Object.fromEntries(this.contiguous) as VersionVector;
  }

  /**
   * What a cell whose vector is `theirs` lacks: every event past its count for the origin, by
   * origin then seq, at most `limit` (the work is in proportion to what is returned, not to the set).
   */
  missingFrom(theirs: VersionVector, limit = Number.POSITIVE_INFINITY): TreeEvent[] {
    const out: TreeEvent[] = [];
    for (const origin of [...this.byOrigin.keys()].sort()) {
      const list = this.byOrigin.get(origin)!;
      for (let i = theirs[origin] ?? 0; i < list.length && out.length < limit; i++) if (list[i]) out.push(list[i]!);
    }
    return out;
  }
}
