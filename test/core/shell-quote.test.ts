// core/shell-quote: a word a POSIX shell reads back as exactly the same string (checked with sh itself).
import { expect, test } from "bun:test";
import { shellCommand, shellQuote } from "../../src/core/shell-quote.ts";

test("plain words stay as they are; anything else is single-quoted", () => {
  expect(shellQuote("Photos/2026/beach.jpg")).toBe("Photos/2026/beach.jpg");
  expect(shellQuote("a-b_c+d,e:f@g.h")).toBe("a-b_c+d,e:f@g.h");
  expect(shellQuote("My Photos/beach.jpg")).toBe("'My Photos/beach.jpg'");
  expect(shellQuote("it's.txt")).toBe("'it'\\''s.txt'");
  expect(shellQuote("")).toBe("''");
  expect(shellCommand(["grove", "restore", "My Photos/a b.jpg", "--version", "2"])).toBe("grove restore 'My Photos/a b.jpg' --version 2");
});

test("sh reads every quoted word back unchanged: spaces, quotes, $, backquotes, globs, ~, !, unicode", () => {
  const words = [
    "My Photos/beach.jpg",
    "it's",
    `say "hi"`,
    "$HOME/x",
    "`id`",
    "$(id)",
    "*.jpg",
    "a?b[c]",
    "~/x",
    "x;y&z|w",
    "a\\b",
    "!x",
    "#x",
    "日本 語.txt",
    "tab\there",
    "line\nbreak",
    "'",
    "''",
    "=x",
    "%x",
    "-x",
    "",
  ];
  // printf prints each argument between markers: what the shell passed, exactly.
  const script = `printf '<%s>' ${words.map(shellQuote).join(" ")}`;
  const r = Bun.spawnSync(["sh", "-c", script], {
    stdout: "pipe",
    stderr: "pipe",
    env: { HOME: "/nowhere", PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  expect(r.stderr.toString()).toBe("");
  expect(r.stdout.toString()).toBe(words.map((w) => `<${w}>`).join(""));
});
