/** @jsxImportSource hono/jsx */
/**
 * @module views/round-summary — the last sync round in sentences (the Storage tab): which peers
 * answered, what was sent and received, what was checked, whether every chunk has its copies; a
 * line that needs attention is marked `warn`, never green. Its problems come after, each in
 * words (views/human-error) and once; the technical lines are in the cell's log.
 */
import type { SyncReport } from "../src/sync/round.ts";
import { count, formatBytes } from "../src/core/format.ts";
import { humanProblem } from "./human-error.ts";

/** One line of the summary. `key` names it for tests and styles. */
export interface RoundFact {
  key: string;
  tone: "ok" | "warn" | "info";
  text: string;
}

const copies = (n: number) => count(n, "copy", "copies");

/** The round's report as lines people read. */
export function roundFacts(r: SyncReport): RoundFact[] {
  const facts: RoundFact[] = [];
  const unreached = r.unreached ?? [];
  if (r.peers === 0) facts.push({ key: "peers", tone: "info", text: "No peers to talk to yet." });
  else if (r.reached === r.peers)
    facts.push({ key: "peers", tone: "ok", text: r.peers === 1 ? "The peer answered." : `All ${r.peers} peers answered.` });
  else
    facts.push({
      key: "peers",
      tone: "warn",
      text: `${r.reached} of ${count(r.peers, "peer")} answered${unreached.length ? `; no answer from ${unreached.join(", ")}` : ""}.`,
    });

  const sent = r.chunks_pushed ? `sent ${copies(r.chunks_pushed)} (${formatBytes(r.bytes_pushed)}) to peers` : "";
  const got = r.chunks_pulled ? `received ${copies(r.chunks_pulled)} (${formatBytes(r.bytes_pulled)})` : "";
  const moved = [sent, got].filter(Boolean).join(" and ");
  facts.push({
    key: "moved",
    tone: "info",
    text: moved
      ? `${moved.charAt(0).toUpperCase()}${moved.slice(1)}${r.healed ? `, ${r.healed} of them replacing lost ones` : ""}.`
      : "Nothing needed sending or fetching.",
  });
  if (r.released) facts.push({ key: "released", tone: "info", text: `Freed ${count(r.released, "surplus copy", "surplus copies")}.` });
  if (r.audited)
    facts.push({
      key: "audited",
      tone: r.audit_failed ? "warn" : "ok",
      text: r.audit_failed
        ? `Checked ${copies(r.audited)} kept by peers: ${r.audit_failed} failed the check and will be placed again.`
        : `Checked ${copies(r.audited)} kept by peers: all intact.`,
    });
  if (r.backups_pushed || r.backups_deferred)
    facts.push({
      key: "backups",
      tone: r.backups_deferred ? "warn" : "info",
      text:
        `Backed up ${count(r.backups_pushed, "file list")} to peers` +
        (r.backups_deferred ? `; ${r.backups_deferred} wait because a peer had no room lately (asked again later).` : "."),
    });
  if (r.recovering)
    facts.push({
      key: "recovering",
      tone: "warn",
      text: "Still recovering: this cell's file lists are not all back from its peers yet. It asks again every round.",
    });
  if (r.restored)
    facts.push({
      key: "restored",
      tone: r.restored.refused || r.restored.missing ? "warn" : "ok",
      text:
        `Restored ${count(r.restored.manifests, "file list")} and ${count(r.restored.versions, "version")} from ${count(r.restored.peers, "peer")}` +
        (r.restored.refused ? `; ${r.restored.refused} backups failed the authenticity check and were ignored` : "") +
        (r.restored.missing ? `; ${r.restored.missing} not back yet` : "") +
        ".",
    });
  facts.push(copiesFact(r));
  if (r.other_builds)
    facts.push({
      key: "builds",
      tone: "info",
      text: `${count(r.other_builds, "peer")} run${r.other_builds === 1 ? "s" : ""} another Grove build.`,
    });
  if (r.refused_over_allowance)
    facts.push({
      key: "allowance",
      tone: "warn",
      text: `${count(r.refused_over_allowance, "chunk")} refused by peers where this cell is over its allowance (see the Bounty tab); tried on the next peer.`,
    });
  if (r.bounty_disagreements)
    facts.push({
      key: "bounty",
      tone: "warn",
      text: `${r.bounty_disagreements} of ${count(r.bounty_statements, "peer")} disagree with this cell's bounty figures: the Bounty tab shows why.`,
    });
  facts.push({ key: "took", tone: "info", text: `Took ${(r.duration_ms / 1000).toFixed(1)} s.` });
  return facts;
}

/** Whether every chunk has its copies, and how sure that is. */
function copiesFact(r: SyncReport): RoundFact {
  if (r.under_replicated || r.missing)
    return {
      key: "copies",
      tone: "warn",
      text:
        `${count(r.under_replicated, "chunk")} ${r.under_replicated === 1 ? "has" : "have"} fewer copies than wanted` +
        (r.missing ? `, and ${r.missing} ${r.missing === 1 ? "has" : "have"} no copy known` : "") +
        ".",
    };
  if (r.chunks === 0) return { key: "copies", tone: "info", text: "Nothing stored yet." };
  if (r.reached < r.peers)
    return {
      key: "copies",
      tone: "warn",
      text: `Every chunk has its copies on record, but some of them are on ${r.peers - r.reached === 1 ? "a peer" : "peers"} that did not answer: they count only until ${r.peers - r.reached === 1 ? "it has" : "they have"} been away too long.`,
    };
  return { key: "copies", tone: "ok", text: "Every chunk has all its copies." };
}

/** A round's problem lines in words, each once: "ab12cd34: what: detail" names the peer by name when known. */
export function roundProblems(errors: readonly string[], names: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const e of errors) {
    const m = /^([0-9a-f]{8}): (.*)$/s.exec(e);
    const who = m ? (names.get(m[1]!) ?? `the peer ${m[1]}`) : "a peer";
    const text = m ? m[2]! : e;
    const said = humanProblem(text, who);
    out.add(said === text && m ? `${who}: ${text}` : said);
  }
  return [...out];
}

export function RoundSummary({ r }: { r: SyncReport }) {
  return (
    <ul class="round-facts" id="round-facts">
      {roundFacts(r).map((f) => (
        <li class={`fact ${f.tone}`} data-fact={f.key}>
          {f.text}
        </li>
      ))}
    </ul>
  );
}
