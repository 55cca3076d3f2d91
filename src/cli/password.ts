/**
 * @module cli/password — `grove password`: set or reset the dashboard password from a terminal.
 * It writes GROVE_DIR/dashboard_auth itself (whether or not the cell runs), ends every dashboard
 * session (they live in placement.db, which the running cell reads on each request), and uses up
 * the first-run setup code.
 */
import { resolveLayout } from "../core/layout.ts";
import { isInitialised } from "../cell/state-dir.ts";
import { PlacementDb } from "../store/placement-db.ts";
import { MIN_PASSWORD_LENGTH, PasswordFile } from "../web/password.ts";
import { SessionStore } from "../web/sessions.ts";
import { SetupCode } from "../web/setup-code.ts";
import { log } from "../core/log.ts";
import { CliError, parse, type Command } from "./command.ts";
import { readHidden } from "./hidden-input.ts";

const usage = `Usage: grove password

Set the dashboard password, or reset a forgotten one. On a terminal it asks twice without
showing what you type; otherwise it reads the password from the first line of stdin.
Every dashboard session ends (browsers log in again with the new password).`;

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const pw = await readHidden("New dashboard password (not shown): ");
    const again = await readHidden("Repeat it: ");
    if (pw !== again) throw new CliError("the two passwords differ; nothing was changed");
    return pw;
  }
  const text = await new Response(Bun.stdin.stream()).text();
  return text.split(/\r?\n/)[0] ?? "";
}

export const password: Command = {
  name: "password",
  summary: "set or reset the dashboard password (ends every session)",
  usage,
  async run(argv) {
    const { values } = parse(argv, {}, { min: 0, max: 0, usage });
    const layout = resolveLayout();
    if (!isInitialised(layout)) throw new CliError(`no cell in ${layout.dir} (run \`grove start\` once to create one, or set GROVE_DIR)`);
    const pw = await readPassword();
    if (pw.length < MIN_PASSWORD_LENGTH) throw new CliError(`use at least ${MIN_PASSWORD_LENGTH} characters; nothing was changed`);
    if (pw.length > 1024) throw new CliError("that password is too long (1024 characters at most); nothing was changed");
    const file = new PasswordFile(layout.dashboardAuth);
    const wasSet = file.isSet();
    await file.set(pw);
    new SetupCode(layout.setupCode).clear();
    const db = new PlacementDb(layout.placementDb);
    let ended: number;
    try {
      ended = new SessionStore(db.db).destroyAll();
    } finally {
      db.close();
    }
    log("info", wasSet ? "dashboard password reset from the CLI; every session ended" : "dashboard password set from the CLI", {
      sessions_ended: ended,
    });
    console.log(
      `Dashboard password ${wasSet ? "changed" : "set"}.${ended ? ` ${ended} dashboard session${ended === 1 ? "" : "s"} ended: log in again.` : ""}`,
    );
    return 0;
  },
};
