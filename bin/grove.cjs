#!/usr/bin/env node
// `grove` for npm installs (npx grove …): runs the CLI with the Bun that npm installed beside it.
// The compiled single-file executables (npm run build) need neither Node nor this file.
"use strict";
const { spawnSync } = require("node:child_process");
const { join } = require("node:path");
const root = join(__dirname, "..");
const bun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
const r = spawnSync(bun, [join(root, "src", "cli.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
if (r.error) {
  console.error(`grove: cannot run Bun (${r.error.message}); run \`npm install\` first`);
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
