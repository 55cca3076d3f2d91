/**
 * @module update/update-state — the self-update's small state files in GROVE_DIR, shared by the
 * cell, the supervisor and the CLI:
 *
 *   update.json            the last swap: {v, from, to, at, state, exe, previous, peer?, reason?,
 *                          done_at?}; state "pending" from just before the swap until the new
 *                          build has run `updateStableMs()`, then "done"; "rolled-back" when the
 *                          new build did not come up and the previous executable was put back.
 *   update-available.json  the newest trusted build a peer offers for this cell's platform
 *                          (written by the noticing check, read by the dashboard and status).
 *
 * Both are written atomically; a missing or unreadable file reads as null.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { OfferedSigSchema } from "./release-sig.ts";

/** Exit code of a cell that swapped in a new build: its supervisor starts it again at once. */
export const UPDATE_RESTART_CODE = 75;

/** A new build that has run this long counts as up (GROVE_UPDATE_STABLE_MS overrides; default 10 s). */
export function updateStableMs(env: Record<string, string | undefined> = process.env): number {
  const v = Number(env.GROVE_UPDATE_STABLE_MS);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

/**
 * A new build still not up this long after its stable time (`updateStableMs()`) is hung: it is
 * stopped and rolled back (GROVE_UPDATE_TRIAL_GRACE_MS overrides; default 30 s).
 */
export function updateTrialGraceMs(env: Record<string, string | undefined> = process.env): number {
  const v = Number(env.GROVE_UPDATE_TRIAL_GRACE_MS);
  return Number.isFinite(v) && v > 0 ? v : 30_000;
}

/** Why a build on trial is taken as hung. */
export function hungReason(ms: number): string {
  return `the new build did not come up within ${(ms / 1000).toFixed(1)} s of starting (running but never marked up: hung); it was stopped`;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const UpdateRecordSchema = z.object({
  v: z.literal(1),
  from: hex64,
  to: hex64,
  /** When the swap happened (ISO). */
  at: z.string(),
  state: z.enum(["pending", "done", "rolled-back"]),
  /** The executable that was replaced, and where the previous one is kept. */
  exe: z.string().min(1),
  previous: z.string().min(1),
  /** The peer the build came from. */
  peer: z.string().optional(),
  /** Why it was rolled back. */
  reason: z.string().optional(),
  /** When it was marked done or rolled back (ISO). */
  settled_at: z.string().optional(),
});
export type UpdateRecord = z.infer<typeof UpdateRecordSchema>;

export const UpdateAvailableSchema = z.object({
  v: z.literal(1),
  /** The peer offering it, and its name at the time. */
  peer: hex64,
  peer_name: z.string(),
  target: z.string(),
  build: hex64,
  build_time: z.string(),
  size: z.number().int().positive(),
  sig: OfferedSigSchema,
  /** This cell's build when it was noticed. */
  current_build: hex64,
  current_build_time: z.string().nullable(),
  seen_at: z.string(),
});
export type UpdateAvailable = z.infer<typeof UpdateAvailableSchema>;

export const updateFile = (dir: string) => join(dir, "update.json");
export const availableFile = (dir: string) => join(dir, "update-available.json");

function readJson<T>(path: string, schema: z.ZodType<T>): T | null {
  try {
    const r = schema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function readUpdateRecord(dir: string): UpdateRecord | null {
  return readJson(updateFile(dir), UpdateRecordSchema);
}

export function writeUpdateRecord(dir: string, rec: UpdateRecord): void {
  writeFileAtomicSync(updateFile(dir), JSON.stringify(rec, null, 2) + "\n", 0o600);
}

export function readAvailable(dir: string): UpdateAvailable | null {
  return readJson(availableFile(dir), UpdateAvailableSchema);
}

export function writeAvailable(dir: string, a: UpdateAvailable | null): void {
  if (a) writeFileAtomicSync(availableFile(dir), JSON.stringify(a, null, 2) + "\n", 0o600);
  else rmSync(availableFile(dir), { force: true });
}
