/**
 * @module cli/ask — `grove ask "question" [--model M] [--peer ID] [--conversation ID] [--json]`
 * (the answer streams to stdout as the model makes it, here or on a friend's cell) and
 * `grove models [--json]` (the cell's models, an Ollama's, and those friends offer).
 */
import { resolveLayout } from "../core/layout.ts";
import { displayName, displayText } from "../core/unsafe-text.ts";
import type { AskEvent } from "../ai/assistant.ts";
import type { ListedModel } from "../ai/assistant.ts";
import type { Offer } from "../ai/remote.ts";
import { formatBytes, hardwareText, shortId } from "../core/format.ts";
import { connect, readJson } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";
import { textLines } from "../core/lines.ts";

const usage = `Usage: grove ask QUESTION… [--model M] [--peer ID] [--conversation ID] [--max-tokens N] [--json]
       grove ask - …                     (the question from standard input)

Ask a model. The answer is printed as it is made; then, on stderr, the conversation id, the
model and the cell that answered, the tokens and the time. Without --peer, this cell's own
models answer (files, then an Ollama's); when it has none, or --model names one only a friend
offers, the best friend's cell that has one answers (see \`grove models\`). --conversation ID continues a conversation (the model sees the
earlier turns); without it a new one begins. --json prints one JSON object per line instead:
{"token": "…"} for each piece, then {"done": true, "conversation": …, "tokens": …, "ms": …}.

Options:
  --model M          a model from \`grove models\` (.gguf may be left out);
                     default: the conversation's model, else the first one
  --conversation ID  continue this conversation
  --max-tokens N     stop the answer after N tokens
  --peer ID          ask this friend's cell (an id or a unique prefix; it answers only
                     when it made this cell a friend and shares its models)`;

const modelsUsage = `Usage: grove models [--json]

The model files of this cell (GROVE_DIR/models/*.gguf) with what their headers say:
architecture, parameters, quantization, context length; then an Ollama's models (config
ollama_url, or one on 127.0.0.1:11434), then the models friends' cells offer. TOK/S is the
speed last measured on a real answer. A file that cannot be read as a model is listed with
the reason. --json: {"models": [...], "friends": [...]}. Add one by copying a .gguf file there, or with
curl -T FILE.gguf -H "Authorization: Bearer $(cat GROVE_DIR/api_token)" URL/api/models/FILE.gguf`;

/** "1.2B", "121.5K": a parameter count the way model names say it. */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export const ask: Command = {
  name: "ask",
  summary: "ask this cell's model a question (the answer streams)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        model: { type: "string" },
        conversation: { type: "string" },
        "max-tokens": { type: "string" },
        peer: { type: "string" },
        json: { type: "boolean" },
      },
      { min: 1, max: Infinity, usage },
    );
    if (values.peer !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(values.peer))
      throw new CliError(`--peer: not a cell id (4 to 64 hex characters): ${values.peer}`, 2);
    const maxTokens = values["max-tokens"];
    if (maxTokens !== undefined && !/^[1-9]\d{0,5}$/.test(maxTokens))
      throw new CliError(`--max-tokens: not a positive number: ${maxTokens}`, 2);
    const question = positionals.length === 1 && positionals[0] === "-" ? await Bun.stdin.text() : positionals.join(" ");
    if (!question.trim()) throw new CliError("the question is empty", 2);
    const body = {
      question,
      model: values.model,
      peer: values.peer,
      conversation: values.conversation,
      max_tokens: maxTokens === undefined ? undefined : Number(maxTokens),
    };
    const res = await connect(resolveLayout()).request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) await readJson(res);
    let done: Extract<AskEvent, { done: true }> | null = null;
    for await (const line of textLines(res.body!)) {
      const ev = JSON.parse(line) as AskEvent | { error: string };
      if ("error" in ev) {
        if (!values.json) process.stdout.write("\n");
        throw new CliError(ev.error);
      }
      if (values.json) process.stdout.write(line + "\n");
      // The answer may come from a friend's cell: newlines and tabs as they are, other controls escaped.
      else if ("token" in ev) process.stdout.write(displayText(ev.token));
      if ("done" in ev) done = ev;
    }
    if (!done) throw new CliError("the cell stopped answering before the answer was complete");
    if (!values.json) {
      process.stdout.write("\n");
      const where = done.source === "peer" ? ` on ${displayName(done.cell_name)} (${shortId(done.cell)})` : "";
      process.stderr.write(
        `(conversation ${done.conversation}, ${displayName(done.model)}${where}: ${done.tokens} tokens in ${(done.ms / 1000).toFixed(1)} s; continue with --conversation ${done.conversation})\n`,
      );
    }
    return 0;
  },
};

export const models: Command = {
  name: "models",
  summary: "list this cell's AI models",
  usage: modelsUsage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage: modelsUsage });
    const client = connect(resolveLayout());
    const [list, friends] = await Promise.all([client.json<ListedModel[]>("/api/models"), client.json<Offer[]>("/api/models/friends")]);
    if (values.json) return (console.log(JSON.stringify({ models: list, friends }, null, 2)), 0);
    const speed = (v: number | null) => (v === null ? "-" : String(v));
    if (!list.length && !friends.length)
      return (process.stderr.write("no models yet: put a .gguf file in GROVE_DIR/models (see `grove models --help`)\n"), 0);
    if (list.length) {
      const rows = list.map((m) =>
        m.error
          ? [m.name, formatBytes(m.size), `unusable: ${m.error}`, "", "", "", "", ""]
          : [
              m.name,
              formatBytes(m.size),
              m.architecture ?? "?",
              m.parameters === null ? "?" : formatParameters(m.parameters),
              m.quantization ?? "?",
              m.info?.context_length == null ? "?" : String(m.info.context_length),
              m.source,
              speed(m.tokens_per_s),
            ],
      );
      console.log(table([["NAME", "SIZE", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SOURCE", "TOK/S"], ...rows], [1, 3, 5, 7]));
    }
    if (friends.length) {
      if (list.length) console.log("");
      const rows = friends.map((o) => [
        displayName(o.model.name),
        `${displayName(o.peer_name)} (${shortId(o.peer)})`,
        formatBytes(o.model.size),
        o.model.parameters === null ? "?" : formatParameters(o.model.parameters),
        o.model.source,
        speed(o.model.tokens_per_s),
        hardwareText(o.hardware),
      ]);
      console.log(table([["FRIEND'S MODEL", "CELL", "SIZE", "PARAMS", "SOURCE", "TOK/S", "HARDWARE"], ...rows], [2, 3, 5]));
    }
    return 0;
  },
};
