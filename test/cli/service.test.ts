/**
 * `grove service install|uninstall` writes (and removes) a systemd user unit or a launchd agent
 * that runs this grove with the cell's GROVE_DIR/GROVE_HOME; here with --no-start, in a temporary
 * HOME, so no service manager is touched.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FROM_SOURCE, runGrove, tempRoot } from "../helpers/cell.ts";

const root = tempRoot("grove-service-");
const env = {
  HOME: join(root, "home"),
  XDG_CONFIG_HOME: join(root, "config"),
  GROVE_DIR: join(root, "my dir"),
  GROVE_HOME: join(root, "files"),
  GROVE_PORT: "5999",
};
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a systemd user unit: runs this grove's start with the cell's folders and port, restarts on failure; uninstall removes it", async () => {
  const r = await runGrove(FROM_SOURCE, ["service", "install", "--no-start", "--platform", "linux"], env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const unit = join(env.XDG_CONFIG_HOME, "systemd", "user", "grove.service");
  expect(r.stdout).toContain(`wrote ${unit}`);
  expect(r.stdout).toContain("systemctl --user enable --now grove.service");
  const text = readFileSync(unit, "utf8");
  expect(text).toMatch(/^ExecStart=\S+ \S+cli\.ts start$/m); // from source: bun src/cli.ts start
  expect(text).toContain(`Environment="GROVE_DIR=${env.GROVE_DIR}"`); // quoted: the path has a space
  expect(text).toContain(`Environment=GROVE_HOME=${env.GROVE_HOME}`);
  expect(text).toContain("Environment=GROVE_PORT=5999");
  expect(text).toContain("Restart=on-failure");
  expect(text).toContain("WantedBy=default.target");
  const u = await runGrove(FROM_SOURCE, ["service", "uninstall", "--no-start", "--platform", "linux"], env);
  expect(u.code).toBe(0);
  expect(existsSync(unit)).toBe(false);
  expect((await runGrove(FROM_SOURCE, ["service", "uninstall", "--no-start", "--platform", "linux"], env)).stdout).toContain(
    "no service installed",
  );
});

test("a launchd agent for macOS; --print shows the unit without writing; bad actions are usage errors", async () => {
  const r = await runGrove(FROM_SOURCE, ["service", "install", "--no-start", "--platform", "darwin"], env);
  expect(r.code).toBe(0);
  const plist = readFileSync(join(env.HOME, "Library", "LaunchAgents", "dev.grove.cell.plist"), "utf8");
  expect(plist).toContain("<string>start</string>");
  expect(plist).toContain(`<key>GROVE_DIR</key><string>${env.GROVE_DIR}</string>`);
  expect(plist).toContain("<key>SuccessfulExit</key><false/>");
  const p = await runGrove(FROM_SOURCE, ["service", "install", "--print", "--platform", "linux"], {
    ...env,
    XDG_CONFIG_HOME: join(root, "other"),
  });
  expect(p.stdout).toContain("[Service]");
  expect(existsSync(join(root, "other"))).toBe(false);
  expect((await runGrove(FROM_SOURCE, ["service", "restart"], env)).code).toBe(2);
  expect((await runGrove(FROM_SOURCE, ["service", "install", "--platform", "windows"], env)).code).toBe(2);
});
