/** @module cli/hidden-input — reading a secret from the terminal without echoing it. */
import { CliError } from "./command.ts";

/**
 * One line from the terminal without echo (a recovery phrase, a password): raw mode, Enter ends
 * it, Backspace erases, Ctrl-C or Ctrl-D gives up.
 */
export function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt: nothing typed after it is echoed
  stdin.resume();
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let line = "";
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new CliError("cancelled", 130));
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        else if (ch >= " ") line += ch;
      }
    };
    stdin.on("data", onData);
  });
}
