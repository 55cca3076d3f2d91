/**
 * @module cell/phrase-shown — whether the 24-word recovery phrase was shown to the person who
 * runs this cell: GROVE_DIR/.phrase_shown, written (atomically, mode 600) once the words were
 * printed on a terminal (`grove start`, `grove recovery-phrase`) or the dashboard's "I wrote it
 * down" was pressed. While it is absent, `grove start` reminds and the dashboard offers the words.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../core/atomic.ts";
import type { Layout } from "../core/layout.ts";

/** The marker's path. */
export function phraseShownMarker(layout: Pick<Layout, "dir">): string {
  return join(layout.dir, ".phrase_shown");
}

export function phraseWasShown(layout: Pick<Layout, "dir">): boolean {
  return existsSync(phraseShownMarker(layout));
}

/** Record that the words were shown (the time, for whoever looks). */
export function markPhraseShown(layout: Pick<Layout, "dir">): void {
  writeFileAtomicSync(phraseShownMarker(layout), new Date().toISOString() + "\n", 0o600);
}
