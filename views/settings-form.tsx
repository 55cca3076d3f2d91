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
};

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
        <div class="with-unit">
          <input
            type="number"
            name="sync_interval"
            value={v.sync_interval}
            required
            min={1}
            step="any"
            inputmode="decimal"
            {...described("sync_interval_s", e)}
          />
          <select name="sync_interval_unit" aria-label="Unit of the sync interval">
            <Options options={Object.entries(DURATION_LABELS) as [string, string][]} selected={v.sync_interval_unit} />
          </select>
        </div>
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
        <div class="with-unit">
          <input
            type="number"
            name="storage_allowance"
            value={v.storage_allowance}
            required
            min={0}
            step="any"
            inputmode="decimal"
            {...described("max_peer_storage_bytes", e)}
          />
          <select name="storage_allowance_unit" aria-label="Unit of the room for other cells">
            <Options options={Object.entries(SIZE_LABELS) as [string, string][]} selected={v.storage_allowance_unit} />
          </select>
        </div>
      </Field>
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
        setting="watch_dirs"
        {...f}
        help="More folders to keep stored, one per line, each a whole path from the root (like /home/me/Photos). They are stored under their own name, not copied into your files folder."
      >
        <textarea name="watch_dirs" rows={3} spellcheck={false} autocomplete="off" {...described("watch_dirs", e)}>
          {v.watch_dirs}
        </textarea>
      </Field>
      <Field
        setting="relays"
        {...f}
        help="Relays keep this cell reachable when peers cannot reach it directly: one per line, like wss://relay.example.org:443."
      >
        <textarea name="relays" rows={2} spellcheck={false} autocomplete="off" {...described("relays", e)}>
          {v.relays}
        </textarea>
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
