// The message payload and text rules (protocol/message), on their own: what the sender sends and
// what the recipient accepts are the same rules.
import { describe, expect, test } from "bun:test";
import { GroveError } from "../../src/core/errors.ts";
import { MAX_MESSAGE_CHARS, checkText, newMessageId, parsePayload } from "../../src/protocol/message.ts";

const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GroveError);
    expect((e as GroveError).status).toBe(400);
    return (e as Error).message;
  }
  throw new Error("not refused");
};

describe("message text", () => {
  test("trimmed, line ends as \\n, tabs and emoji kept", () => {
    expect(checkText("  hi\r\nthere\rnow \n")).toBe("hi\nthere\nnow");
    expect(checkText("a\tb 🌳")).toBe("a\tb 🌳");
    expect(checkText("x".repeat(MAX_MESSAGE_CHARS) + "   ")).toHaveLength(MAX_MESSAGE_CHARS);
  });

  test("blank, too long, control characters and lone surrogates are refused", () => {
    expect(refused(() => checkText(" \n\t "))).toBe("a message needs some text");
    expect(refused(() => checkText("x".repeat(MAX_MESSAGE_CHARS + 1)))).toContain(`at most ${MAX_MESSAGE_CHARS} characters`);
    for (const bad of ["a\u0000b", "bell\u0007", "esc\u001b[31m", "del\u007f", "half \ud83c"])
      expect(refused(() => checkText(bad))).toContain("control characters");
  });
});

describe("message payload", () => {
  const ok = { v: 1 as const, id: newMessageId(), text: " hello ", sent_at: 1_796_000_000_000 };

  test("a well-formed payload is accepted with its text checked", () => {
    expect(ok.id).toMatch(/^[0-9a-f]{32}$/);
    expect(newMessageId()).not.toBe(ok.id);
    expect(parsePayload(ok)).toEqual({ ...ok, text: "hello" });
  });

  test("wrong shapes are refused with the field named", () => {
    expect(refused(() => parsePayload(null))).toContain("bad message");
    expect(refused(() => parsePayload({ ...ok, v: 2 }))).toContain("bad message: v");
    expect(refused(() => parsePayload({ ...ok, id: ok.id.toUpperCase() }))).toContain("bad message: id");
    expect(refused(() => parsePayload({ ...ok, id: ok.id.slice(1) }))).toContain("bad message: id");
    expect(refused(() => parsePayload({ ...ok, sent_at: "1" }))).toContain("bad message: sent_at");
    expect(refused(() => parsePayload({ ...ok, sent_at: -1 }))).toContain("bad message: sent_at");
    expect(parsePayload({ ...ok, extra: 1 })).toEqual(parsePayload(ok)); // a newer build's field: ignored (dropped)
    expect(refused(() => parsePayload({ ...ok, text: "" }))).toContain("bad message: text");
  });
});
