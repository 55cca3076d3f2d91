/** @module core/format — small display helpers shared by the pages. */

/** "1 chunk", "3 chunks": a count with its noun (plural by adding "s" unless `plural` is given). */
/** A cell id (or another 64-hex name) as people read it: its first 8 characters. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function count(n: number, noun: string, plural = noun + "s"): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/** URL of a file in the API, each segment encoded. */
export function fileUrl(path: string, query = ""): string {
  return "/api/files/" + path.split("/").map(encodeURIComponent).join("/") + query;
}

/** A signed size: "+1.5 GiB", "−4.0 MiB", "0 B". */
export function signedBytes(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : "0 B";
}

/** "16 GiB RAM, NVIDIA GeForce RTX 3060": a cell's machine as its card says; "?" when it says nothing. */
export function hardwareText(h: { ram_bytes: number | null; gpu: string | null }): string {
  return [h.ram_bytes ? `${formatBytes(h.ram_bytes)} RAM` : "", h.gpu ?? ""].filter(Boolean).join(", ") || "?";
}

/** "just now", "3 min ago", "2 h ago", "5 days ago", or "in 3 days" for a time ahead of `now`. */
export function relativeTime(ms: number, now = Date.now()): string {
  const d = Math.round((now - ms) / 1000);
  const ahead = d < 0;
  const s = Math.abs(d);
  const say = (n: number, unit: string) => (ahead ? `in ${n} ${unit}` : `${n} ${unit} ago`);
  if (s < 45) return ahead ? "in a moment" : "just now";
  if (s < 3600) return say(Math.max(1, Math.round(s / 60)), "min");
  if (s < 86400) return say(Math.round(s / 3600), "h");
  const days = Math.round(s / 86400);
  return say(days, days === 1 ? "day" : "days");
}
