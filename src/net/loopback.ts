/** @module net/loopback — is an address, a listen host or a Host header this machine's loopback? */

/** True for a TCP peer address on loopback: 127.0.0.0/8, ::1, or IPv4-mapped 127.x. */
export function isLoopbackAddress(addr: string | undefined | null): boolean {
  if (!addr) return false;
  return addr === "::1" || addr.startsWith("127.") || /^::ffff:127\./i.test(addr);
}

/** True for a listen host that only this machine can reach: 127.x, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || h.startsWith("127.");
}
