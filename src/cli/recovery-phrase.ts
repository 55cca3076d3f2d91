/** @module cli/recovery-phrase — `grove recovery-phrase`: print the 24 words again. */
import { resolveLayout } from "../core/layout.ts";
import { markPhraseShown } from "../cell/phrase-shown.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove recovery-phrase [--json]

Print this cell's 24-word recovery phrase. Anyone holding it can become this cell and read
its files: keep it offline.`;

/** Present once the words were shown (cell/phrase-shown): start stops reminding. */
export { phraseShownMarker } from "../cell/phrase-shown.ts";

/** Numbered words, six per line. */
export function formatPhrase(phrase: string): string {
  const words = phrase.split(" ");
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 6) {
    lines.push(
      "  " +
        words
          .slice(i, i + 6)
          .map((w, j) => `${String(i + j + 1).padStart(2)}. ${w.padEnd(9)}`)
          .join(" "),
    );
  }
  return lines.join("\n");
}

export const recoveryPhraseCmd: Command = {
  name: "recovery-phrase",
  summary: "print this cell's 24-word recovery phrase",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const layout = resolveLayout();
    // Loaded here: `grove start` imports this module, and so every command (the keys' crypto is not light).
    const { isInitialised, recoveryPhrase } = await import("../cell/state-dir.ts");
    if (!isInitialised(layout)) throw new CliError(`no cell in ${layout.dir} (run \`grove start\` once to create one)`);
    const phrase = recoveryPhrase(layout);
    if (values.json) console.log(JSON.stringify({ phrase, words: phrase.split(" ") }));
    else {
      console.log(formatPhrase(phrase));
      if (process.stderr.isTTY) process.stderr.write("\nKeep these words offline: they restore this cell's identity and keys.\n");
    }
    markPhraseShown(layout);
    return 0;
  },
};
