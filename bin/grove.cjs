#!/usr/bin/env node
// `grove` from the repository, from anywhere: `npm link` in the repository puts this file on the
// PATH as `grove` (package.json "bin"; docs/cli-on-path.md). It runs the CLI with the Bun that
// `npm install` put beside it; relative paths stay the caller's (the working folder is kept).
// The compiled single-file executables (npm run build) need neither Node nor this file.
"use strict";
const { existsSync } = require("node:fs");
const { spawn } = require("node:child_process");
const { join } = require("node:path");
// __dirname is the repository's bin/ even through npm link's symlink (Node resolves it).
const root = join(__dirname, "..");
const bun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
const cli = join(root, "src", "cli.ts");
if (!existsSync(bun)) {
  console.error(`grove: Bun is not installed in ${root} (no ${bun}): run \`npm install\` there first`);
  process.exit(1);
}
if (!existsSync(cli)) {
  console.error(`grove: ${cli} is missing: ${root} is not a complete Grove checkout`);
  process.exit(1);
}
const child = spawn(bun, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the CLI from the terminal itself (same process group): this wrapper only waits
// for it to finish stopping. A SIGTERM or SIGHUP sent to the wrapper alone is passed on.
process.on("SIGINT", () => {});
for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("error", (e) => {
  console.error(`grove: cannot run Bun at ${bun} (${e.message}); run \`npm install\` in ${root}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Ended by a signal: end the same way, so the shell sees it.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
