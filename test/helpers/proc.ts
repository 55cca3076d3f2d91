/** Test helper: what the kernel says about a process and its sockets (Linux /proc). */
import { existsSync, readFileSync } from "node:fs";

/** Peak resident memory of a process so far (VmHWM), bytes. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

/** Addresses listening on TCP `port` (from /proc/net/tcp and tcp6): "127.0.0.1", "0.0.0.0", "::", "::1"… */
export function listeningOn(port: number): string[] {
  const out: string[] = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== "0A") continue; // LISTEN
      const [hexAddr, hexPort] = cols[1]!.split(":");
      if (parseInt(hexPort!, 16) !== port) continue;
      if (hexAddr!.length === 8) out.push([3, 2, 1, 0].map((i) => parseInt(hexAddr!.slice(i * 2, i * 2 + 2), 16)).join("."));
      else out.push(/^0+$/.test(hexAddr!) ? "::" : hexAddr === "00000000000000000000000001000000" ? "::1" : hexAddr!);
    }
  }
  return out;
}
