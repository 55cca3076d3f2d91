/**
 * @module tree/events — the changes my cells exchange to keep one tree (docs/design.md, "One tree
 * across my cells"): a put, a delete or a move of one path, made on one cell, stamped by its
 * hybrid logical clock (tree/hlc), and naming the events it replaces as its cell saw them. An event
 * never changes once made; the tree is computed from the set of events (tree/materialize), and the
 * cells exchange the events the other lacks (tree/version-vector).
 */
import { z } from "zod";
import type { CellId, ManifestHash } from "../core/types.ts";
import { relativePathProblem } from "../core/relative-path.ts";
import type { Stamp } from "./hlc.ts";

/** `origin:seq`: which cell made an event, and its number there (1, 2, 3, … with no gap). */
export type EventId = string;

export interface TreeEvent {
  /** The cell that made it. */
  readonly origin: CellId;
  /** That cell's name when it made it (conflict copies are named after it, the same on every cell). */
  readonly by: string;
  /** Its number among the origin's events, from 1, without gaps. */
  readonly seq: number;
  readonly at: Stamp;
  readonly kind: "put" | "delete" | "move";
  /** put: the path written; delete: the path removed; move: the new path. */
  readonly path: string;
  /** move: the old path. */
  readonly from?: string;
  /** put and move: the content (a manifest every one of my cells can open). */
  readonly manifest?: ManifestHash;
  /**
   * The events this one replaces, as its origin saw them: what was current at `path` (and, for a
   * move, at `from`), including conflict copies it resolves. Empty for a path that was free.
   */
  readonly replaces: readonly EventId[];
}

export function eventId(e: Pick<TreeEvent, "origin" | "seq">): EventId {
  return `${e.origin}:${e.seq}`;
}

const path = z.string().superRefine((p, ctx) => {
  const problem = relativePathProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** An event as it arrives from another of my cells: checked before it is stored or used. */
export const TreeEventSchema = z
  .object({
    origin: hex64,
    by: z.string().min(1).max(64),
    seq: z.number().int().positive(),
    at: z.object({ wall: z.number().int().nonnegative(), n: z.number().int().nonnegative() }),
    kind: z.enum(["put", "delete", "move"]),
    path,
    from: path.optional(),
    manifest: hex64.optional(),
    replaces: z.array(z.string().regex(/^[0-9a-f]{64}:[1-9][0-9]*$/)).max(1000),
  })
  .superRefine((e, ctx) => {
    if ((e.kind === "delete") !== (e.manifest === undefined))
      ctx.addIssue({ code: "custom", message: "a put or move names its manifest, a delete none" });
    if ((e.kind === "move") !== (e.from !== undefined)) ctx.addIssue({ code: "custom", message: "a move, and only a move, has `from`" });
    if (e.kind === "move" && e.from === e.path) ctx.addIssue({ code: "custom", message: "a move to the same path" });
    if (e.replaces.includes(`${e.origin}:${e.seq}`)) ctx.addIssue({ code: "custom", message: "an event cannot replace itself" });
  })
  .transform((e): TreeEvent => ({ ...e, origin: e.origin as CellId, manifest: e.manifest as ManifestHash | undefined }));
