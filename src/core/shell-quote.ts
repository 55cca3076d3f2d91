/**
 * @module core/shell-quote — one word for a POSIX shell (sh, bash, zsh): what a hint prints when
 * it suggests a command with a path in it, so that copying the command runs it as shown.
 */

/** Words made only of these characters mean the same to a shell quoted or not. */
const PLAIN = /^[A-Za-z0-9_\-+.,/:@]+$/;

/**
 * `s` as a single shell word: unchanged when it holds nothing a shell would interpret, else in
 * single quotes (inside which nothing is special), each `'` written as `'\''`.
 * @example shellQuote("Photos/beach.jpg") // "Photos/beach.jpg"
 * @example shellQuote("My Photos/it's.jpg") // "'My Photos/it'\\''s.jpg'"
 */
export function shellQuote(s: string): string {
  if (PLAIN.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A command line from its words, each quoted as needed. @example shellCommand(["grove", "get", "a b"]) // "grove get 'a b'" */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
