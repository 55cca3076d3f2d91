/**
 * @module protocol/friendship — a friendship notice between two paired cells on the wire
 * (POST /peer/friend, docs/protocol.md "Friendship"): the notice the sender seals to the
 * recipient, the answer sealed back, and the rule that turns one side's state into the other's.
 *
 * Notice (JSON, sealed with HPKE to the recipient, info `grove/v1/friend`, aad = sender id):
 *   {v: 1, kind: "request" | "end"}
 * Answer (sealed to the sender, info `grove/v1/friend/reply`, aad = recipient id):
 *   {v: 1, friendship: "none" | "requested" | "asked" | "friends"}, the recipient's state for the sender.
 */
import { z } from "zod";
import { badRequest } from "../core/errors.ts";

/** Where a friendship stands, from one cell's side (the same words as the peers table's). */
export type FriendshipState = "none" | "requested" | "asked" | "friends";
export type FriendNoticeKind = "request" | "end";

/** Largest sealed notice a cell reads (a notice is a few dozen bytes; room for fields a newer build adds). */
export const MAX_FRIEND_BODY = 4096;

const Notice = z.object({ v: z.literal(1), kind: z.enum(["request", "end"]) });
const Reply = z.object({ v: z.literal(1), friendship: z.enum(["none", "requested", "asked", "friends"]) });

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw badRequest(`bad ${what}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

/** Check a received notice (after opening it); unknown fields are ignored. Throws a 400. */
export function parseNotice(value: unknown): { v: 1; kind: FriendNoticeKind } {
  return parsed(Notice, value, "friendship notice");
}

/** Check an answer to a notice (after opening it). Throws a 400. */
export function parseReply(value: unknown): { v: 1; friendship: FriendshipState } {
  return parsed(Reply, value, "friendship answer");
}

/**
 * The recipient's new state for the sender of `kind`, from its state before: a request makes a
 * stranger "asked" and completes a friendship the recipient had asked for itself (or already
 * had); an end makes it "none", whatever it was.
 * @example receivedState("requested", "request") // "friends"
 */
export function receivedState(before: FriendshipState, kind: FriendNoticeKind): FriendshipState {
  if (kind === "end") return "none";
  return before === "requested" || before === "friends" ? "friends" : "asked";
}

/**
 * One side's state given the other side's: each is the mirror of the other ("requested" here is
 * "asked" there). The sender of a notice takes it from the answer.
 * @example mirror("asked") // "requested"
 */
export function mirror(theirs: FriendshipState): FriendshipState {
  return theirs === "asked" ? "requested" : theirs === "requested" ? "asked" : theirs;
}
