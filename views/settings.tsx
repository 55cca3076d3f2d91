/** @jsxImportSource hono/jsx */
/**
 * @module views/settings — the Settings tab: this cell's identity, build and storage, the form of
 * the settings a person changes (views/settings-form), where the cell really listens, its
 * recovery phrase behind the password (views/recovery-phrase) and updates.
 */
import type { CellStatus } from "../src/api/types.ts";
import { formatBytes } from "../src/core/format.ts";
import { UpdateSection } from "./update.tsx";
import type { ListenInfo } from "../src/api/types.ts";
import { SettingsForm, type SettingsFormProps } from "./settings-form.tsx";
import { RecoverySection } from "./recovery-phrase.tsx";

/** Where the cell listens, as bound (not the config defaults). */
function Listening({ l }: { l: ListenInfo | null }) {
  if (!l) return null;
  return (
    <section class="card">
      <h2>Listening on</h2>
      <dl class="facts">
        <dt>Dashboard and local API</dt>
        <dd>
          <code>{l.dashboard.url}</code> · {l.dashboard.public ? "reachable from other machines" : "this machine only"}
          {l.dashboard.tls ? " · TLS" : l.dashboard.public ? " · no TLS: passwords cross the network readable" : ""}
          {l.dashboard.fingerprint ? (
            <>
              <br />
              certificate SHA-256 <code class="wrap">{l.dashboard.fingerprint}</code>
            </>
          ) : null}
        </dd>
        <dt>Peer API (other cells)</dt>
        <dd>
          <code>{l.peer.url}</code>
        </dd>
        {l.legacy ? (
          <>
            <dt>Previous address</dt>
            <dd>
              Port {l.legacy.port} on {l.legacy.host} still answers peers (and only peers) until {l.legacy.waiting_for} more{" "}
              {l.legacy.waiting_for === 1 ? "peer has" : "peers have"} reached the new port.
            </dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

export function SettingsPage(p: {
  csrf?: string;
  facts: CellStatus;
  form: SettingsFormProps;
  listening: ListenInfo | null;
  phrase: { noPassword: boolean; written: boolean };
}) {
  const f = p.facts;
  return (
    <>
      <section class="card">
        <h1>This cell</h1>
        <dl class="facts">
          <dt>Cell id</dt>
          <dd>
            <code>{f.id}</code>
          </dd>
          <dt>Version</dt>
          <dd>
            {f.version} · build <code>{f.build.slice(0, 12)}</code>
            {f.build_time ? ` · built ${f.build_time}` : ""}
          </dd>
          <dt>Crypto</dt>
          <dd>{f.crypto}</dd>
          <dt>This cell's folder</dt>
          <dd>
            <code title="GROVE_DIR">{f.dir}</code>
            <br />
            <span class="sub">its keys, database and the copies it keeps</span>
          </dd>
          <dt>Your files folder</dt>
          <dd>
            <code title="GROVE_HOME">{f.home}</code>
            <br />
            <span class="sub">where this cell keeps its own files, as ordinary files</span>
          </dd>
          <dt>Stored</dt>
          <dd>
            {f.files} files · {f.chunks} chunks · {formatBytes(f.stored_bytes)}
          </dd>
        </dl>
      </section>
      <section class="card" id="settings">
        <h2>Settings</h2>
        <p class="notice">
          Saved to <code>{f.dir}/config.json</code>, checked as a whole before anything is written. Other settings (where the dashboard
          listens, TLS, how the local models run…) are changed in that file.
        </p>
        <SettingsForm {...p.form} />
      </section>
      <Listening l={p.listening} />
      <RecoverySection csrf={p.csrf} noPassword={p.phrase.noPassword} written={p.phrase.written} />
      <UpdateSection u={f.update_available} csrf={p.csrf} />
    </>
  );
}
