// A question routed to a friend's cell through a real relay: cells on loopback that advertise
// relay routes only, so every peer call (the question and each part of the answer) is carried
// by the relay tunnel. Real node-llama-cpp, threads 1, the fixture's tiny model on B.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { encodeGguf, tinyModel } from "../fixtures/tiny-gguf.ts";
import { cliJson, destroyCell, pair, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { befriend } from "../helpers/friends.ts";
import { startRelay, tokenFile } from "../helpers/relay.ts";

let relay: Awaited<ReturnType<typeof startRelay>>;
let a: TestCell, b: TestCell;
let idA = "",
  idB = "";
const tokenDir = tempRoot("grove-relay-ai-");

beforeAll(async () => {
  const access = tokenFile(tokenDir); // the relay serves the holders of this token
  relay = await startRelay(["--token-file", access.path]);
  const url = `ws://${relay.url}`;
  const config = {
    llm_threads: 1,
    llm_max_tokens: 64,
    ollama_url: "off",
    sync_interval_s: 3600,
    mdns: false,
    relays: [`${url}?token=${access.token}`],
    advertise: [url],
  };
  [a, b] = await Promise.all([
    startCell({ config: { ...config, name: "relay-ai-a" } }),
    startCell({ config: { ...config, name: "relay-ai-b" } }),
  ]);
  [idA, idB] = await Promise.all([a, b].map(async (x) => (await x.cli(["id"])).stdout.trim()));
  await pair(b, a);
  await befriend(a, b); // A asks, B accepts: through the relay
  const { meta, tensors } = tinyModel();
  expect((await b.api("/api/models/tiny.gguf", { method: "PUT", body: encodeGguf(meta, tensors) })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b)]);
  relay?.proc.kill("SIGTERM");
  await relay?.proc.exited;
  rmSync(tokenDir, { recursive: true, force: true });
});

test("A's question is answered by B through the relay, streamed in more than one piece", async () => {
  const peers = await cliJson<{ id: string; best_route: string }[]>(a, ["peers", "--probe"]);
  expect(peers).toEqual([expect.objectContaining({ id: idB, best_route: `ws://${relay.url}/v1/relay` })]);
  const res = await a.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: "Through the relay?", max_tokens: 10, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const lines = (await res.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.filter((l) => "token" in l).length).toBeGreaterThan(1);
  expect(lines.at(-1)).toMatchObject({ done: true, source: "peer", cell: idB, model: "tiny.gguf", tokens: 10 });
});
