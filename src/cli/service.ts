/**
 * @module cli/service — `grove service install|uninstall`: run this cell at login and keep it
 * running, with the system's own supervisor: a systemd user unit on Linux
 * (~/.config/systemd/user/grove.service, Restart=on-failure, at most 5 starts in 60 s) or a
 * launchd agent on macOS (~/Library/LaunchAgents/dev.grove.cell.plist, KeepAlive on failure).
 * The unit runs this very executable (or Bun with src/cli.ts from a checkout) with the current
 * GROVE_DIR, GROVE_HOME and GROVE_PORT, and is written atomically. Unless --no-start, the
 * service manager is asked to load and start it; when that cannot be done here (no systemctl,
 * no user session) the file stays and the commands to run are printed.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { selfCommand } from "../core/build-info.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { shellCommand } from "../core/shell-quote.ts";
import { resolveLayout } from "../core/layout.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove service install [--no-start] [--print] [--platform linux|darwin]
       grove service uninstall [--no-start] [--platform linux|darwin]

Run this cell as a service of your user: started at login, restarted when it dies.
  Linux   a systemd user unit, ~/.config/systemd/user/grove.service
  macOS   a launchd agent, ~/Library/LaunchAgents/dev.grove.cell.plist
The service uses this grove executable and the current GROVE_DIR, GROVE_HOME and GROVE_PORT.

Options:
  --no-start   only write (or remove) the file; do not call systemctl / launchctl
  --print      print the unit instead of writing it
  --platform   write the other platform's file (default: this machine's)`;

type Platform = "linux" | "darwin";

export interface ServiceFile {
  path: string;
  text: string;
  /** Commands that load and start it (install) — run unless --no-start. */
  start: string[][];
  stop: string[][];
}

/** The environment the service runs with: where the cell lives. */
function serviceEnv(): Record<string, string> {
  const layout = resolveLayout();
  const env: Record<string, string> = { GROVE_DIR: layout.dir, GROVE_HOME: layout.home };
  if (process.env.GROVE_PORT) env.GROVE_PORT = process.env.GROVE_PORT;
  return env;
}

/** systemd quoting for one ExecStart word. */
const sdQuote = (w: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/(["\\$])/g, "\\$1")}"`);
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function serviceFile(platform: Platform, home = homedir(), env = serviceEnv(), command = [...selfCommand(), "start"]): ServiceFile {
  if (platform === "linux") {
    const dir = join(process.env.XDG_CONFIG_HOME || join(home, ".config"), "systemd", "user");
    const text = [
      "# Written by `grove service install`; remove with `grove service uninstall`.",
      "[Unit]",
      `Description=Grove cell (${env.GROVE_DIR})`,
      "After=network-online.target",
      "StartLimitIntervalSec=60",
      "StartLimitBurst=5",
      "",
      "[Service]",
      "Type=simple",
      `ExecStart=${command.map(sdQuote).join(" ")}`,
      ...Object.entries(env).map(([k, v]) => `Environment=${sdQuote(`${k}=${v}`)}`),
      "Restart=on-failure",
      "RestartSec=2",
      "",
      "[Install]",
      "WantedBy=default.target",
      "",
    ].join("\n");
    return {
      path: join(dir, "grove.service"),
      text,
      start: [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "grove.service"],
      ],
      stop: [
        ["systemctl", "--user", "disable", "--now", "grove.service"],
        ["systemctl", "--user", "daemon-reload"],
      ],
    };
  }
  const path = join(home, "Library", "LaunchAgents", "dev.grove.cell.plist");
  const text = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`grove service install\`; remove with \`grove service uninstall\`. -->
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.grove.cell</string>
  <key>ProgramArguments</key>
  <array>
${command.map((w) => `    <string>${xml(w)}</string>`).join("\n")}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
${Object.entries(env)
  .map(([k, v]) => `    <key>${xml(k)}</key><string>${xml(v)}</string>`)
  .join("\n")}
  </dict>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>ThrottleInterval</key><integer>10</integer>
  <key>StandardOutPath</key><string>${xml(join(env.GROVE_DIR!, "grove.log"))}</string>
  <key>StandardErrorPath</key><string>${xml(join(env.GROVE_DIR!, "grove.log"))}</string>
</dict>
</plist>
`;
  return { path, text, start: [["launchctl", "load", "-w", path]], stop: [["launchctl", "unload", "-w", path]] };
}

/** Run the service manager's commands; false (with the reason printed) when one fails or is missing. */
function runAll(cmds: string[][]): boolean {
  for (const c of cmds) {
    if (!Bun.which(c[0]!)) {
      console.error(`${c[0]} is not available here`);
      return false;
    }
    const r = Bun.spawnSync(c, { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      console.error(`\`${shellCommand(c)}\` failed: ${r.stderr.toString().trim() || `exit code ${r.exitCode}`}`);
      return false;
    }
  }
  return true;
}

export const service: Command = {
  name: "service",
  summary: "install or remove this cell as a user service (systemd / launchd)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { "no-start": { type: "boolean" }, print: { type: "boolean" }, platform: { type: "string" } },
      { min: 1, max: 1, usage },
    );
    const action = positionals[0];
    if (action !== "install" && action !== "uninstall")
      throw new CliError(`unknown action '${action}' (install or uninstall)\n\n${usage}`, 2);
    const platform = (values.platform ?? process.platform) as string;
    if (platform !== "linux" && platform !== "darwin")
      throw new CliError(`services are written for linux (systemd) and darwin (launchd), not ${platform}`, 2);
    const f = serviceFile(platform);
    const manage = !values["no-start"] && platform === process.platform;
    if (action === "install") {
      if (values.print) return (process.stdout.write(f.text), 0);
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileAtomicSync(f.path, f.text, 0o644);
      console.log(`wrote ${f.path}`);
      if (!manage) return (console.log(`to start it: ${f.start.map(shellCommand).join(" && ")}`), 0);
      if (runAll(f.start)) return (console.log("the cell runs as a service now, and starts at login"), 0);
      console.error(`the file is in place; start it yourself with: ${f.start.map(shellCommand).join(" && ")}`);
      return 1;
    }
    if (!existsSync(f.path)) return (console.log(`no service installed (${f.path} does not exist)`), 0);
    if (manage && !runAll(f.stop)) console.error("could not stop the service; removing its file anyway");
    rmSync(f.path, { force: true });
    console.log(`removed ${f.path}`);
    return 0;
  },
};
