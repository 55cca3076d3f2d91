/**
 * Pages name a CLI command only where the dashboard cannot do the thing (issue 22, point 4): the
 * setup page asks for the setup code and names no command; opened from another machine, where
 * the dashboard cannot set the first password, it names `grove password` for the machine the
 * cell runs on. The recovery phrase behind the password names no command; with no dashboard
 * password (nothing to check the viewer against), `grove recovery-phrase` is the way; beside the
 * words, `grove recover` says what they bring back on a new machine (no dashboard runs there yet).
 */
import { describe, expect, test } from "bun:test";
import { SetupPage } from "../../views/auth-pages.tsx";
import { PhrasePage } from "../../views/recovery-phrase.tsx";

const html = async (node: unknown) => String(await (node as { toString(): string | Promise<string> }).toString());
const commands = (s: string) => [...s.matchAll(/<code>(grove [a-z-]+)/g)].map((m) => m[1]);

describe("CLI commands on the setup and recovery phrase pages", () => {
  test("setup from this machine: the form, no command; from elsewhere: grove password, on that machine", async () => {
    const here = await html(SetupPage({ formCsrf: "t", allowed: true, codeFile: "/home/me/.grove/setup_code" }));
    expect(here).toContain('action="/setup"');
    expect(commands(here)).toEqual([]);
    const away = await html(SetupPage({ formCsrf: "t", allowed: false, codeFile: "/home/me/.grove/setup_code" }));
    expect(away).not.toContain('action="/setup"');
    expect(commands(away)).toEqual(["grove password"]);
    expect(away).toContain("in a terminal on that machine");
  });

  test("the words behind the password: the form, no command to see them; with no password, the terminal", async () => {
    const asked = await html(PhrasePage({ words: null, written: false, csrf: "t" }));
    expect(asked).toContain('id="phrase-password"');
    expect(commands(asked)).toEqual([]);
    const none = await html(PhrasePage({ words: null, written: false, csrf: "t", noPassword: true }));
    expect(commands(none)).toEqual(["grove recovery-phrase"]);
    // Shown, the words say what they are for: bringing the cell back on a new machine, which no dashboard can do.
    const shown = await html(PhrasePage({ words: Array.from({ length: 24 }, (_, i) => `w${i}`), written: true, csrf: "t" }));
    expect(commands(shown)).toEqual(["grove recover"]);
  });
});
