/** @jsxImportSource hono/jsx */
/** @module views/when — a time as people say it ("3 min ago"), with the exact time on hover. */
import { formatTime, relativeTime } from "../src/core/format.ts";

export function When({ ms, now = Date.now() }: { ms: number; now?: number }) {
  return (
    <time datetime={new Date(ms).toISOString()} title={formatTime(ms)}>
      {relativeTime(ms, now)}
    </time>
  );
}
