/** @module web/listen-info — where a running cell really listens (Settings, /api/status, the start banner). */

export interface ListenInfo {
  /** The dashboard and local API. `public`: reachable beyond this machine. */
  dashboard: { url: string; host: string; port: number; tls: boolean; public: boolean; fingerprint: string | null };
  /** The peer API, advertised in the card. */
  peer: { url: string; host: string; port: number };
  /** The pre-split address still answering peers (and only peers), while some have not reached the new port. */
  legacy: { host: string; port: number; waiting_for: number } | null;
}
