/**
 * @module web/phrase-offer — whether a dashboard page offers the 24-word recovery phrase (the
 * first-run offer; views/recovery-phrase draws it). Offered at the top of the Files list, where
 * first-run setup and every login land (not on every tab: 24 words above each page would push
 * what the person came for out of sight), until "I wrote it down" was pressed or a terminal
 * showed the words (cell/phrase-shown). Settings has its own section. The words themselves are in the page only when this session proved the
 * dashboard password moments ago (first-run setup or a login within FRESH_MS): an older session,
 * say a browser left open, gets a link to Settings, which asks for the password again.
 */
import type { Context } from "hono";
import { existsSync } from "node:fs";
import { phraseWasShown } from "../cell/phrase-shown.ts";
import { recoveryPhrase } from "../cell/state-dir.ts";
import type { PhraseOfferInfo } from "../../views/recovery-phrase.tsx";
import type { WebEnv } from "./context.ts";

/** How long after the password was typed a session may see the words without typing it again. */
export const FRESH_MS = 10 * 60_000;

/** The page where setup and login land: the Files list. */
export const OFFER_PATH = "/files";

/** The offer for this page, or null (no session, another page, or the words were shown). */
export function phraseOffer(c: Context<WebEnv>, now = Date.now()): PhraseOfferInfo | null {
  const session = c.var.session;
  const layout = c.var.cell.layout;
  if (!session || c.req.path !== OFFER_PATH || phraseWasShown(layout)) return null;
  const fresh = now - session.created_at < FRESH_MS && existsSync(layout.dashboardAuth);
  return { words: fresh ? recoveryPhrase(layout).split(" ") : null, back: c.req.path };
}
