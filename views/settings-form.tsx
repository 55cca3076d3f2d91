/** @jsxImportSource hono/jsx */
/**
 * @module views/settings-form — the Settings tab's form (web/settings-pages answers it): one
 * field per setting with its label, help and, after a refused save, its own message; the Save
 * button that is busy while the request runs, and one line saying what the save did. A plain
 * form post without JavaScript works too.
 */
import type { Child } from "hono/jsx";
import { isLiveKey } from "../src/config/live.ts";
import {
  DURATION_UNITS,
  LABELS,
  SIZE_UNITS,
  numberBounds,
  type FieldErrors,
  type FormKey,
  type FormValues,
} from "../src/config/settings-form.ts";

export const SETTINGS_URL = "/settings";

/** What the line under the form says: a save that worked, or why nothing was saved. */
export type SaveStatus = { ok: true; text: string } | { ok: false; text: string; other?: string[] };

export interface SettingsFormProps {
  csrf?: string;
  values: FormValues;
  errors?: FieldErrors;
  status?: SaveStatus | null;
  /** Settings saved in the file that the running cell takes only at its next start. */
  pending?: FormKey[];
}

const DURATION_LABELS: Record<keyof typeof DURATION_UNITS, string> = { s: "seconds", min: "minutes", h: "hours", d: "days" };
const SIZE_LABELS: Record<keyof typeof SIZE_UNITS, string> = { B: "bytes", MiB: "MiB", GiB: "GiB", TiB: "TiB" };

/** Each setting's id in the page (its label points to it; its help and message describe it). */
const IDS: Record<FormKey, string> = {
  name: "set-name",
  replication_factor: "set-copies",
  sync_interval_s: "set-sync-interval",
  home_mode: "set-home-mode",
  max_peer_storage_bytes: "set-storage",
  llm_share: "set-models",
  watch_dirs: "set-watch-dirs",
  relays: "set-relays",
  peer_lost_after_s: "set-peer-lost",
  mdns: "set-mdns",
  ollama_url: "set-ollama",
  bounty_allowance_bytes: "set-bounty-allowance",
  bounty_exempt_favorites: "set-exempt-favorites",
  bounty_exempt_friends: "set-exempt-friends",
};

/** Where each setting is in the page (for a link from another tab: `/settings#set-mdns`). */
export const settingHref = (key: FormKey) => `${SETTINGS_URL}#${IDS[key]}`;

/** Whether the setting is an input that has a problem, and what describes it. */
function described(key: FormKey, errors: FieldErrors | undefined) {
  const id = IDS[key];
  const error = errors?.[key];
  return {
    id,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": error ? `${id}-error ${id}-help` : `${id}-help`,
  };
}

/** A setting: label, its input(s), help (with when a change takes effect) and its message. */
function Field(p: { setting: FormKey; errors?: FieldErrors; pending?: FormKey[]; help: string; children: Child }) {
  const id = IDS[p.setting];
  const error = p.errors?.[p.setting];
  const pending = p.pending?.includes(p.setting);
  return (
    <div class={error ? "field invalid" : "field"} data-field={p.setting}>
      <label for={id}>{LABELS[p.setting]}</label>
      {p.children}
      <p class="help" id={`${id}-help`}>
        {p.help}
        {isLiveKey(p.setting) ? " A change is taken at once." : " A change takes effect at the next start of the cell."}
      </p>
      {pending ? (
        <p class="pending" data-pending={p.setting}>
          Saved; the cell still runs with the previous value until its next start.
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

function Options<T extends string>({ options, selected }: { options: [T, string][]; selected: string }) {
  return (
    <>
      {options.map(([value, label]) => (
        <option value={value} selected={value === selected}>
          {label}
        </option>
      ))}
    </>
  );
}

/** A number and its unit of time (the described props go on the number). */
function Duration(p: { name: string; value: string; unit: string; unitLabel: string; attrs: Record<string, string | undefined> }) {
  return (
    <div class="with-unit">
      <input type="number" name={p.name} value={p.value} required min={1} step="any" inputmode="decimal" {...p.attrs} />
      <select name={`${p.name}_unit`} aria-label={p.unitLabel}>
        <Options options={Object.entries(DURATION_LABELS) as [string, string][]} selected={p.unit} />
      </select>
    </div>
  );
}

/** A number and its unit of size (the described props go on the number). */
function Size(p: { name: string; value: string; unit: string; unitLabel: string; attrs: Record<string, string | undefined> }) {
  return (
    <div class="with-unit">
      <input type="number" name={p.name} value={p.value} required min={0} step="any" inputmode="decimal" {...p.attrs} />
      <select name={`${p.name}_unit`} aria-label={p.unitLabel}>
        <Options options={Object.entries(SIZE_LABELS) as [string, string][]} selected={p.unit} />
      </select>
    </div>
  );
}

export function SettingsForm(p: SettingsFormProps) {
  const v = p.values;
  const e = p.errors;
  const copies = numberBounds("replication_factor");
  const f = { errors: e, pending: p.pending };
  return (
    <form
      method="post"
      action={SETTINGS_URL}
      id="settings-form"
      class="settings-form"
      hx-post={SETTINGS_URL}
      hx-target="this"
      hx-swap="outerHTML"
      hx-disabled-elt="find #settings-save"
      hx-indicator="#settings-indicator"
    >
      {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
      <Field setting="name" {...f} help="How this cell appears to your peers and at the top of the dashboard (up to 64 characters).">
        <input type="text" name="name" value={v.name} required maxlength={64} autocomplete="off" {...described("name", e)} />
      </Field>
      <Field
        setting="replication_factor"
        {...f}
        help="How many cells keep a copy of each of your files, counting this one: 2 means this cell and one peer."
      >
        <input
          type="number"
          name="replication_factor"
          value={v.replication_factor}
          required
          min={copies.min}
          max={copies.max}
          step={1}
          inputmode="numeric"
          {...described("replication_factor", e)}
        />
      </Field>
      <Field
        setting="sync_interval_s"
        {...f}
        help="How often this cell checks with its peers that every file has its copies. Changes also go out soon after they happen."
      >
        <Duration
          name="sync_interval"
          value={v.sync_interval}
          unit={v.sync_interval_unit}
          unitLabel="Unit of the sync interval"
          attrs={described("sync_interval_s", e)}
        />
      </Field>
      <Field
        setting="peer_lost_after_s"
        {...f}
        help="How long a peer may go unseen before its copies stop counting and this cell makes new copies on other peers. Longer suits a laptop that is often off; shorter heals sooner."
      >
        <Duration
          name="peer_lost"
          value={v.peer_lost}
          unit={v.peer_lost_unit}
          unitLabel="Unit of the time after which a peer is lost"
          attrs={described("peer_lost_after_s", e)}
        />
      </Field>
      <Field
        setting="home_mode"
        {...f}
        help="What your files folder on this machine holds of the files of your other cells. This cell's own files stay in it either way."
      >
        <select name="home_mode" {...described("home_mode", e)}>
          <Options
            options={[
              ["mirror", "Mirror: a copy of every file, like a synced folder"],
              ["on-demand", "On demand: pinned files only; the others are fetched when opened"],
            ]}
            selected={v.home_mode}
          />
        </select>
      </Field>
      <Field
        setting="max_peer_storage_bytes"
        {...f}
        help="The most this cell keeps for other cells (their encrypted copies). 0 keeps nothing for others."
      >
        <Size
          name="storage_allowance"
          value={v.storage_allowance}
          unit={v.storage_allowance_unit}
          unitLabel="Unit of the room for other cells"
          attrs={described("max_peer_storage_bytes", e)}
        />
      </Field>
      <Field
        setting="watch_dirs"
        {...f}
        help="More folders to keep stored, one per line, each a whole path from the root (like /home/me/Photos). They are stored under their own name, not copied into your files folder."
      >
        <textarea name="watch_dirs" rows={3} spellcheck={false} autocomplete="off" {...described("watch_dirs", e)}>
          {v.watch_dirs}
        </textarea>
      </Field>
      <h3>Network</h3>
      <Field
        setting="relays"
        {...f}
        help="Relays keep this cell reachable when peers cannot reach it directly: one per line, like wss://relay.example.org:443."
      >
        <textarea name="relays" rows={2} spellcheck={false} autocomplete="off" {...described("relays", e)}>
          {v.relays}
        </textarea>
      </Field>
      <Field
        setting="mdns"
        {...f}
        help="Whether this cell announces itself on the local network and lists the cells it finds there on the Peers tab. Being found grants nothing: pairing still needs an invite."
      >
        <select name="mdns" {...described("mdns", e)}>
          <Options
            options={[
              ["on", "On: find and be found"],
              ["off", "Off: neither look nor announce"],
            ]}
            selected={v.mdns}
          />
        </select>
      </Field>
      <h3>AI models</h3>
      <Field setting="llm_share" {...f} help="Whether the cells you made friends with may ask this cell's AI models.">
        <select name="llm_share" {...described("llm_share", e)}>
          <Options
            options={[
              ["friends", "Friends may ask my models"],
              ["none", "Nobody: only this cell uses them"],
            ]}
            selected={v.llm_share}
          />
        </select>
      </Field>
      <Field
        setting="ollama_url"
        {...f}
        help="An Ollama server whose models the Assistant offers too. The address is used only with “The one at this address”."
      >
        <div class="with-unit">
          <select name="ollama_mode" {...described("ollama_url", e)}>
            <Options
              options={[
                ["auto", "The one on this machine, when it runs"],
                ["address", "The one at this address:"],
                ["off", "None"],
              ]}
              selected={v.ollama_mode}
            />
          </select>
          <input
            type="url"
            name="ollama_address"
            id="set-ollama-address"
            value={v.ollama_address}
            placeholder="http://192.168.1.5:11434"
            autocomplete="off"
            spellcheck={false}
            aria-label="Address of the Ollama to use"
            aria-describedby={`${IDS.ollama_url}-help`}
          />
        </div>
      </Field>
      <h3>Bounty</h3>
      <Field
        setting="bounty_allowance_bytes"
        {...f}
        help="How far a peer may fall behind (what it keeps for this cell minus what this cell keeps for it) before this cell refuses its new files. 0 allows no debt."
      >
        <Size
          name="bounty_allowance"
          value={v.bounty_allowance}
          unit={v.bounty_allowance_unit}
          unitLabel="Unit of the bounty allowance"
          attrs={described("bounty_allowance_bytes", e)}
        />
      </Field>
      <Field setting="bounty_exempt_favorites" {...f} help="Whether the peers you marked as favorites may go beyond the allowance.">
        <select name="bounty_exempt_favorites" {...described("bounty_exempt_favorites", e)}>
          <Options
            options={[
              ["yes", "Yes: never refused for their balance"],
              ["no", "No: held to the allowance"],
            ]}
            selected={v.bounty_exempt_favorites}
          />
        </select>
      </Field>
      <Field setting="bounty_exempt_friends" {...f} help="Whether the cells you made friends with may go beyond the allowance.">
        <select name="bounty_exempt_friends" {...described("bounty_exempt_friends", e)}>
          <Options
            options={[
              ["yes", "Yes: never refused for their balance"],
              ["no", "No: held to the allowance"],
            ]}
            selected={v.bounty_exempt_friends}
          />
        </select>
      </Field>
      <div class="form-actions">
        <button type="submit" id="settings-save">
          Save
        </button>
        <span class="busy-indicator" id="settings-indicator">
          <span class="spinner" aria-hidden="true"></span> Saving…
        </span>
        <div id="settings-status" role="status" aria-live="polite">
          {p.status ? (
            <p class={p.status.ok ? "saved" : "field-error"}>
              {p.status.text}
              {!p.status.ok && p.status.other?.length ? (
                <>
                  {" "}
                  Your config.json has a problem this form does not change: {p.status.other.join("; ")}. Fix it in the file, then save
                  again.
                </>
              ) : null}
            </p>
          ) : null}
        </div>
      </div>
    </form>
  );
}
