/**
 * @module views/human-error — what a page says when something failed: what happened and what to
 * do, never the socket error, address or stack behind it (those stay in the cell's log, written
 * where the error is caught). A message already written for people (a GroveError below 500 with
 * nothing technical in it) is kept as it is.
 *
 * humanError(new PeerUnreachableError("cannot reach http://127.0.0.1:5802: ECONNREFUSED …"), "pi")
 *   → "pi could not be reached: its cell may be switched off or offline. …"
 */
import { GroveError, errorMessage } from "../src/core/errors.ts";
import { PeerUnreachableError } from "../src/net/peer-client.ts";

/** Words that mean no answer came back at all. */
const UNREACHABLE =
  /econnrefused|econnreset|etimedout|ehostunreach|enetunreach|enotfound|eai_again|unable to connect|cannot reach|could not reach|could not be reached|could not connect|stopped answering|went silent|timed? ?out|timeout|socket|connection (?:refused|reset|closed|lost)|no relay connection|network is unreachable|fetch failed|aborted/i;
/** The answer came, but it could not be trusted. */
const UNVERIFIED = /signature|not signed|did not verify|verification|forged|integrity/i;
/** The other cell has no room. */
const FULL = /\b507\b|no room|storage full|insufficient storage|over (?:its|the) (?:allowance|limit)/i;
/** The other cell does not know this one. */
const UNKNOWN_CELL = /\b401\b|unauthori[sz]ed|unknown (?:cell|peer)|does not know/i;
/** Anything a person should not have to read: URLs, addresses, error codes, stack frames. */
const TECHNICAL =
  /[a-z+]+:\/\/|\b\d{1,3}(?:\.\d{1,3}){3}\b|\[[0-9a-f:]+\]|\bat \S+\.(?:ts|js):\d+|\bstack\b|undefined is not|cannot read propert|unexpected token|\bHTTP \d{3}\b|status \d{3}/i;
/** A system error code (ECONNREFUSED, EACCES…): upper case only, so "expired" is not one. */
const ERRNO = /\bE[A-Z]{4,}\b/;

/** True when `text` carries something technical (an address, an error code, a stack). */
export function isTechnical(text: string): boolean {
  return TECHNICAL.test(text) || ERRNO.test(text) || /econnrefused|unable to connect/i.test(text);
}

const unreachable = (who: string) =>
  `${cap(who)} could not be reached: it may be switched off or offline. Grove tries again at the next sync round; the Peers tab shows when it was last seen.`;

/** "the relay" → "The relay" at the start of a sentence; a cell's own name is left as it is. */
function cap(s: string): string {
  return /^(?:the|a|an|your|this) /.test(s) ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/** A config key in prose (`its llm_share is "none"`, `home_mode`…): snake_case next to a value or config.json. */
const CONFIG_KEY =
  /\b[a-z]+(?:_[a-z]+)+\b\s*(?:is|=|:)\s*["'\d]|\bconfig\.json\b|\b(?:llm_share|home_mode|replication_factor|max_upload_bytes|storage_allowance)\b/;
/** A CLI command a person is told to run (`grove invite --mine`). */
const CLI = /`grove [a-z]|\bgrove [a-z]+ --[a-z]/;

/**
 * A peer's refusal (its protocol's words name its config keys and CLI commands) in the dashboard's
 * words, or null when `text` is not one. The peer's JSON stays as it is; only the page translates.
 */
function refusalWords(text: string, who: string): string | null {
  if (/does not share its models|llm_share/.test(text))
    return `${cap(who)} does not share its models with you. Choose another model, or ask its owner to share models with friends in its Settings.`;
  if (/answer friends only|is not a friend of this cell/.test(text))
    return `${cap(who)} shares its models with its friends only. Ask its owner to add this cell as a friend on their Peers tab.`;
  if (/shares its tree only with its owner|invite --mine/.test(text))
    return "Only your own cells share their files this way. To share them, invite that cell on the Peers tab as another of your devices, then try again.";
  // Only a refusal (a peer's answer reads "cell … refused: …"): a local message is left to its own words.
  if (/\brefused\b/.test(text) && (CONFIG_KEY.test(text) || CLI.test(text)))
    return `${cap(who)} refused. Try again in a moment; if it keeps happening, the cell's log has the details.`;
  return null;
}

/**
 * A stored or reported problem (a sync round's line, a relay's state, a delivery's reason) in
 * words for the page. `who` names the other side ("pi", "the relay"; default "the other cell").
 */
export function humanProblem(text: string, who = "the other cell"): string {
  const refusal = refusalWords(text, who);
  if (refusal) return refusal;
  if (UNREACHABLE.test(text)) return unreachable(who);
  if (UNVERIFIED.test(text))
    return `${cap(who)} answered, but the answer could not be checked, so it was ignored. If this keeps happening, remove it and pair again.`;
  if (FULL.test(text)) return `${cap(who)} has no room for more of this cell's data. Grove places copies on other peers when it can.`;
  if (UNKNOWN_CELL.test(text))
    return `${cap(who)} did not accept this cell: it may have removed it, or one of the two clocks is wrong. Pair again if it was removed.`;
  if (isTechnical(text)) return `Something went wrong while talking to ${who}. Try again in a moment; the cell's log has the details.`;
  return text;
}

/**
 * A caught error in words for the page (see humanProblem). An error that is not a GroveError
 * (a bug, a library's) is said to have happened, with nothing of its text, unless it is plainly
 * a connection that failed or a sentence already meant for people.
 */
export function humanError(e: unknown, who = "the other cell"): string {
  if (e instanceof PeerUnreachableError) return unreachable(who);
  const text = errorMessage(e);
  if (e instanceof GroveError) return humanProblem(text, who);
  if (UNREACHABLE.test(text)) return unreachable(who);
  const refusal = refusalWords(text, who);
  if (refusal) return refusal;
  return isTechnical(text) || e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError
    ? "Something went wrong on this cell. Try again; the cell's log has the details."
    : text;
}
