/**
 * @module web/peer-ai-api — /peer/ai/*: a friend asks this cell's models (protocol/ai-chat,
 * docs/protocol.md "AI chat"). The request is already signed by a known peer (web/peer-api);
 * here it must come from a friend of this cell, and config `llm_share` must be "friends", else
 * 403 with the reason. The question opens as sealed to this cell by that peer; answers are
 * sealed back to it, in parts (ai/peer-answers keeps the jobs).
 */
import { Hono, type Context } from "hono";
import { badRequest, forbidden, GroveError } from "../core/errors.ts";
import { fromHex, type CellId } from "../core/types.ts";
import type { WebServices } from "./services.ts";
import { PeerAnswers } from "../ai/peer-answers.ts";
import { AI_REPLY_INFO, AiQuestion, JOB_ID, MAX_AI_WAIT_MS, type AiPart } from "../protocol/ai-chat.ts";
import type { Card } from "../protocol/card.ts";
import { AI_INFO } from "../protocol/labels.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import { shortId } from "../core/format.ts";

function waitParam(c: Context<PeerEnv>, dflt: number): number {
  const w = c.req.query("wait");
  if (w === undefined) return dflt;
  if (!/^\d{1,6}$/.test(w)) throw badRequest("wait must be a number of milliseconds");
  return Math.min(MAX_AI_WAIT_MS, Number(w));
}

export function peerAiApi(s: WebServices): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys } = s.cell;
  let answers: PeerAnswers | null = null;
  const jobs = (): PeerAnswers => {
    const a = s.assistant;
    if (!a) throw new GroveError("this cell runs no assistant", 503, "unavailable");
    return (answers ??= new PeerAnswers((q) => a.prepareForPeer(q)));
  };

  /** Friends only, and only when this cell shares its models. */
  const allow = (peer: CellId): void => {
    if (s.cell.config.llm_share !== "friends") throw forbidden('this cell does not share its models (its llm_share is "none")');
    if (!s.peers.get(peer)?.friend) throw forbidden(`cell ${shortId(peer)} is not a friend of this cell: its models answer friends only`);
  };

  const sealed = async (c: Context<PeerEnv>, part: AiPart) => {
    const card = JSON.parse(s.peers.get(c.var.peer)!.card) as Card;
    const body = await sealJson(fromHex(card.x25519), part, AI_REPLY_INFO, keys.id);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  };

  app.post("/chat", async (c) => {
    const peer = c.var.peer;
    allow(peer);
    const parsed = AiQuestion.safeParse(await openJson(keys, c.var.peerBody, AI_INFO, peer));
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw badRequest(`bad question: ${i.path.join(".") || "(root)"}: ${i.message}`);
    }
    const j = jobs();
    const job = await j.start(peer, parsed.data);
    return sealed(c, await j.part(job, 0, waitParam(c, 0)));
  });

  app.get("/chat/:job", async (c) => {
    const peer = c.var.peer;
    allow(peer);
    const id = c.req.param("job");
    if (!JOB_ID.test(id)) throw badRequest("a question id is 32 hex characters");
    const after = c.req.query("after") ?? "0";
    if (!/^\d{1,9}$/.test(after)) throw badRequest("after must be a piece index");
    const j = jobs();
    return sealed(c, await j.part(j.get(peer, id), Number(after), waitParam(c, 10_000)));
  });

  app.delete("/chat/:job", (c) => c.json({ cancelled: jobs().cancel(c.var.peer, c.req.param("job")) }));

  return app;
}
