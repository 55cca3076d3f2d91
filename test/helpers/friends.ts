/**
 * Test helper: make two paired cells friends as users do (fleet/friendship): `asker` sends a
 * friend request, `accepter` accepts it, and both must then say "friends".
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestCell } from "./cell.ts";

/** A cell's id, from its GROVE_DIR (no CLI call). */
export function cellIdOf(cell: TestCell): string {
  return readFileSync(join(cell.dir, "node.pub"), "utf8").trim();
}

/** `asker` runs `grove peers friend`, `accepter` `grove peers accept`; throws unless both end as friends. */
export async function befriend(asker: TestCell, accepter: TestCell): Promise<void> {
  const [a, b] = [cellIdOf(asker), cellIdOf(accepter)];
  for (const [cell, args] of [
    [asker, ["peers", "friend", b]],
    [accepter, ["peers", "accept", a]],
  ] as const) {
    const r = await cell.cli([...args]);
    if (r.code !== 0) throw new Error(`grove ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  }
  for (const [cell, other] of [
    [asker, b],
    [accepter, a],
  ] as const) {
    const list = JSON.parse((await cell.cli(["peers", "--json"])).stdout) as { id: string; friendship: string }[];
    const state = list.find((p) => p.id === other)?.friendship;
    if (state !== "friends") throw new Error(`after request and accept, ${other.slice(0, 8)} is "${state}" on ${cell.dir}, not "friends"`);
  }
}
