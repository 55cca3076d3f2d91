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

  constructor(events: Iterable<TreeEvent> = []) {
    for (const e of events) this.add(e);
  }

  /** Keep `e`; false when it was held already (idempotent). */
  add(e: TreeEvent): boolean {
    const id = eventId(e);
    if (this.byId.has(id)) return false;
    this.byId.set(id, e);
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

  /** What a cell whose vector is `theirs` lacks: every event past its count for the origin, oldest first. */
  missingFrom(theirs: VersionVector): TreeEvent[] {
    const out: TreeEvent[] = [];
    for (const e of this.byId.values()) if (e.seq > (theirs[e.origin] ?? 0)) out.push(e);
    return out.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq));
  }
}
