/**
 * @module cli/ask — `grove ask "question" [--model M] [--conversation ID] [--json]` (the answer
 * streams to stdout as the model makes it) and `grove models [--json]` (the cell's models).
 */
import { resolveLayout } from "../core/layout.ts";
import type { AskEvent } from "../ai/assistant.ts";
import type { ModelEntry } from "../ai/models.ts";
import { connect, readJson } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove ask QUESTION… [--model M] [--conversation ID] [--max-tokens N] [--json]
       grove ask - …                     (the question from standard input)

Ask this cell's model. The answer is printed as it is made; then, on stderr, the conversation
id, the tokens and the time. --conversation ID continues a conversation (the model sees the
earlier turns); without it a new one begins. --json prints one JSON object per line instead:
{"token": "…"} for each piece, then {"done": true, "conversation": …, "tokens": …, "ms": …}.

Options:
  --model M          a model file name from \`grove models\` (.gguf may be left out);
                     default: the conversation's model, else the first one
  --conversation ID  continue this conversation
  --max-tokens N     stop the answer after N tokens
  --peer ID          ask a friend's cell (not available yet)`;

const modelsUsage = `Usage: grove models [--json]

The model files of this cell (GROVE_DIR/models/*.gguf) with what their headers say:
architecture, parameters, quantization, context length. A file that cannot be read as a
model is listed with the reason. Add one by copying a .gguf file there, or with
curl -T FILE.gguf -H "Authorization: Bearer $(cat GROVE_DIR/api_token)" URL/api/models/FILE.gguf`;

/** "1.2B", "121.5K": a parameter count the way model names say it. */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export const ask: Command = {
  name: "ask",
  summary: "ask this cell's model a question (the answer streams)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { model: { type: "string" }, conversation: { type: "string" }, "max-tokens": { type: "string" }, peer: { type: "string" }, json: { type: "boolean" } },
      { min: 1, max: Infinity, usage },
    );
    if (values.help) return console.log(usage), 0;
    if (values.peer !== undefined) throw new CliError("--peer: asking a friend's cell is not available yet; ask this cell's own model");
    const maxTokens = values["max-tokens"];
    if (maxTokens !== undefined && !/^[1-9]\d{0,5}$/.test(maxTokens)) throw new CliError(`--max-tokens: not a positive number: ${maxTokens}`, 2);
    const question = positionals.length === 1 && positionals[0] === "-" ? await Bun.stdin.text() : positionals.join(" ");
    if (!question.trim()) throw new CliError("the question is empty", 2);
    const body = { question, model: values.model, conversation: values.conversation, max_tokens: maxTokens === undefined ? undefined : Number(maxTokens) };
    const res = await connect(resolveLayout()).request("/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) await readJson(res);
    let rest = "";
    const dec = new TextDecoder();
    let done: Extract<AskEvent, { done: true }> | null = null;
    for await (const piece of res.body! as unknown as AsyncIterable<Uint8Array>) {
      rest += dec.decode(piece, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as AskEvent | { error: string };
        if ("error" in ev) {
          if (!values.json) process.stdout.write("\n");
          throw new CliError(ev.error);
        }
        if (values.json) process.stdout.write(line + "\n");
        else if ("token" in ev) process.stdout.write(ev.token);
        if ("done" in ev) done = ev;
      }
    }
    if (!done) throw new CliError("the cell stopped answering before the answer was complete");
    if (!values.json) {
      process.stdout.write("\n");
      process.stderr.write(`(conversation ${done.conversation}, ${done.model}: ${done.tokens} tokens in ${(done.ms / 1000).toFixed(1)} s; continue with --conversation ${done.conversation})\n`);
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
    if (values.help) return console.log(modelsUsage), 0;
    const list = await connect(resolveLayout()).json<ModelEntry[]>("/api/models");
    if (values.json) return console.log(JSON.stringify(list, null, 2)), 0;
    if (!list.length) return process.stderr.write("no models yet: put a .gguf file in GROVE_DIR/models (see `grove models --help`)\n"), 0;
    const rows = list.map((m) =>
      m.info
        ? [m.name, formatBytes(m.size), m.info.architecture ?? "?", formatParameters(m.info.parameters), m.info.quantization ?? "?", m.info.context_length === null ? "?" : String(m.info.context_length)]
        : [m.name, formatBytes(m.size), `unusable: ${m.error}`, "", "", ""],
    );
    console.log(table([["NAME", "SIZE", "ARCH", "PARAMS", "QUANT", "CONTEXT"], ...rows], [1, 3, 5]));
    return 0;
  },
};
