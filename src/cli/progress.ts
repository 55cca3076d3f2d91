/** @module cli/progress — a one-line progress bar on stderr (only on a TTY, only for transfers over 16 MB). */
import { formatBytes } from "../core/format.ts";

export const PROGRESS_THRESHOLD = 16 * 1024 * 1024;

export interface Progress {
  add(n: number): void;
  /** Set the count of bytes done (a new phase may start again from 0). */
  set(n: number): void;
  phase(label: string): void;
  done(): void;
}

const silent: Progress = { add() {}, set() {}, phase() {}, done() {} };

/** A bar for `total` bytes labelled `label`, or a no-op when not useful. */
export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total < PROGRESS_THRESHOLD || process.env.GROVE_NO_PROGRESS) return silent;
  let done = 0;
  let last = -Infinity;
  let text = label;
  let t0 = performance.now();
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    const frac = Math.min(1, done / total);
    const width = 24;
    const fill = Math.round(frac * width);
    const secs = (now - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 && frac < 1 ? ` ETA ${Math.ceil((total - done) / rate)}s` : "";
    stream.write(
      `\r${text} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${Math.floor(frac * 100)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${eta}\x1b[K`,
    );
  };
  return {
    add(n) {
      done += n;
      draw();
    },
    set(n) {
      done = n;
      draw();
    },
    phase(l) {
      text = l;
      t0 = performance.now();
      done = 0;
      draw(true);
    },
    done() {
      done = Math.max(done, total);
      draw(true);
      stream.write("\n");
    },
  };
}
