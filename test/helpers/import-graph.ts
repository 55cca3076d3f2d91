/** Test helper: the import graph between the top-level folders of src/ (and views/). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..", "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** "src/sync/round.ts" → "sync"; "src/cli.ts" → "cli"; "views/files.tsx" → "views". */
function folderOf(file: string): string {
  const rel = relative(ROOT, file).split("/");
  if (rel[0] === "views") return "views";
  return rel.length > 2 ? rel[1]! : rel[1]!.replace(/\.tsx?$/, "");
}

/** Folder → folders it imports. */
export function folderGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const file of [...sources(join(ROOT, "src")), ...sources(join(ROOT, "views"))]) {
    const from = folderOf(file);
    if (!g.has(from)) g.set(from, new Set());
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(ROOT + "/src/") && !target.startsWith(ROOT + "/views/")) continue;
      const to = folderOf(target);
      if (to !== from) g.get(from)!.add(to);
    }
  }
  return g;
}

/** Strongly connected groups of more than one folder (Tarjan). */
export function loops(g: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}
