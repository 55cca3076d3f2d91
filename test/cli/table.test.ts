// cli/command table(): columns line up on a terminal with wide and zero-width characters (CJK,
// emoji, combining marks): each column starts at the same display column on every row.
import { expect, test } from "bun:test";
import stringWidth from "string-width";
import { padDisplay, table } from "../../src/cli/command.ts";

/** The display columns where `value` (its last occurrence) starts and ends in `line`. */
function span(line: string, value: string): [number, number] {
  const at = line.lastIndexOf(value);
  expect(at).toBeGreaterThanOrEqual(0);
  const start = stringWidth(line.slice(0, at));
  return [start, start + stringWidth(value)];
}

test("display width: CJK and emoji take two columns, combining marks none", () => {
  expect(padDisplay("日本", 6)).toBe("日本  ");
  expect(padDisplay("👩‍💻", 4, "right")).toBe("  👩‍💻");
  expect(padDisplay("e\u0301", 3)).toBe("e\u0301  "); // é as e + combining acute: one column
  expect(padDisplay("toolong", 3)).toBe("toolong");
});

test("a table of names in CJK, emoji, combining marks and Latin lines up by display width", () => {
  const rows = [
    ["ID", "NAME", "SIZE", "STATE"],
    ["3fa9c2", "laptop", "1 KiB", "ok"],
    ["7b0d41", "台所のパソコン", "12 MiB", "ok"],
    ["9c1e2f", "🍓🥝 pi", "3 GiB", "lost"],
    ["a1b2c3", "Zoe\u0308 cafe\u0301", "512 B", "ok"], // Zoë café with combining marks
    ["d4e5f6", "한국어 서버", "0 B", "ok"],
  ];
  const lines = table(rows, [2]).split("\n");
  expect(lines.length).toBe(rows.length);
  const spans = lines.map((l, i) => rows[i]!.map((v) => span(l, v)));
  for (const row of spans) {
    for (const col of [0, 1, 3]) expect(row[col]![0]).toBe(spans[0]![col]![0]); // left-aligned: same start
    expect(row[2]![1]).toBe(spans[0]![2]![1]); // SIZE, right-aligned: same end
  }
});

test("control characters are still escaped before widths are measured", () => {
  const out = table([
    ["NAME", "X"],
    ["evil\x1b[2J", "1"],
    ["ok", "2"],
  ]);
  expect(out).not.toContain("\x1b");
  const lines = out.split("\n");
  expect(lines.map((l, i) => span(l, ["X", "1", "2"][i]!)[0])).toEqual([13, 13, 13]); // "evil\\x1b[2J" + 2 spaces
});
