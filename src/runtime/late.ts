/**
 * @module runtime/late — a reference set once, later in the same wiring: how runtime/runtime
 * closes a cycle in the service graph (the relay client serves with the peer app; the card names
 * the port bound at start). Reading it before it is set is a wiring bug, and says so.
 */
export class Late<T> {
  private value: { v: T } | null = null;

  constructor(private readonly what: string) {}

  set(v: T): void {
    if (this.value) throw new Error(`${this.what} is already set`);
    this.value = { v };
  }

  ready(): boolean {
    return this.value !== null;
  }

  get(): T {
    if (!this.value) throw new Error(`${this.what} is used before it exists (runtime wiring)`);
    return this.value.v;
  }
}
