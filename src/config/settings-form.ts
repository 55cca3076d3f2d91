/**
 * @module config/settings-form — the Settings tab's form, without HTTP: which config.json keys it
 * changes, how a value is shown in it (a duration in its largest whole unit, a size in the largest
 * unit that keeps it exact, a list one item a line), how a posted form becomes a new config.json
 * (merged into the file as it is, then the whole result validated by config/config's schema) and
 * how the schema's problems become one plain message per field.
 */
import { z } from "zod";
import { ConfigSchema, checkConfig, type Config, type ConfigIssue } from "./config.ts";

/** The config.json keys the form changes, in the order it shows them. */
export const FORM_KEYS = [
  "name",
  "replication_factor",
  "sync_interval_s",
  "peer_lost_after_s",
  "home_mode",
  "max_peer_storage_bytes",
  "watch_dirs",
  "relays",
  "mdns",
  "llm_share",
  "ollama_url",
  "bounty_allowance_bytes",
  "bounty_exempt_favorites",
  "bounty_exempt_friends",
] as const satisfies readonly (keyof Config)[];
export type FormKey = (typeof FORM_KEYS)[number];

/** What people call each setting (messages name settings so, never by their key). */
export const LABELS: Record<FormKey, string> = {
  name: "Name",
  replication_factor: "Copies of each file",
  sync_interval_s: "Sync every",
  peer_lost_after_s: "A peer is lost after",
  home_mode: "Files of my other cells",
  max_peer_storage_bytes: "Room for other cells",
  watch_dirs: "Watched folders",
  relays: "Relays",
  mdns: "Local discovery",
  llm_share: "Share my models",
  ollama_url: "Ollama",
  bounty_allowance_bytes: "Bounty allowance",
  bounty_exempt_favorites: "Exempt favorites",
  bounty_exempt_friends: "Exempt friends",
};

/** How the Ollama setting is chosen: the usual address on this machine, another address, or none. */
export const OLLAMA_MODES = ["auto", "address", "off"] as const;
export type OllamaMode = (typeof OLLAMA_MODES)[number];

export const DURATION_UNITS = { s: 1, min: 60, h: 3600, d: 86400 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS;
export const SIZE_UNITS = { B: 1, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 } as const;
export type SizeUnit = keyof typeof SIZE_UNITS;

/** The form as typed: every field a string (what a browser posts), units among the offered ones. */
export const FormValuesSchema = z.object({
  name: z.string().max(1000).catch(""),
  replication_factor: z.string().max(100).catch(""),
  sync_interval: z.string().max(100).catch(""),
  sync_interval_unit: z.enum(Object.keys(DURATION_UNITS) as [DurationUnit, ...DurationUnit[]]).catch("s"),
  peer_lost: z.string().max(100).catch(""),
  peer_lost_unit: z.enum(Object.keys(DURATION_UNITS) as [DurationUnit, ...DurationUnit[]]).catch("s"),
  home_mode: z.string().max(100).catch(""),
  storage_allowance: z.string().max(100).catch(""),
  storage_allowance_unit: z.enum(Object.keys(SIZE_UNITS) as [SizeUnit, ...SizeUnit[]]).catch("B"),
  llm_share: z.string().max(100).catch(""),
  watch_dirs: z.string().max(200_000).catch(""),
  relays: z.string().max(100_000).catch(""),
  mdns: z.string().max(100).catch(""),
  ollama_mode: z.string().max(100).catch(""),
  ollama_address: z.string().max(4096).catch(""),
  bounty_allowance: z.string().max(100).catch(""),
  bounty_allowance_unit: z.enum(Object.keys(SIZE_UNITS) as [SizeUnit, ...SizeUnit[]]).catch("B"),
  bounty_exempt_favorites: z.string().max(100).catch(""),
  bounty_exempt_friends: z.string().max(100).catch(""),
});
export type FormValues = z.infer<typeof FormValuesSchema>;

/** One plain sentence per field that is wrong. */
export type FieldErrors = Partial<Record<FormKey, string>>;

/** The bounds of a whole-number setting, read from the schema (for the input's min and max). */
export function numberBounds(key: "replication_factor"): { min: number; max: number } {
  const n = ConfigSchema.shape[key].unwrap();
  return { min: n.minValue ?? 0, max: n.maxValue ?? Number.MAX_SAFE_INTEGER };
}

/** The largest unit that divides `seconds` (300 → 5 min). */
export function durationParts(seconds: number): { value: string; unit: DurationUnit } {
  const units = Object.entries(DURATION_UNITS).reverse() as [DurationUnit, number][];
  for (const [unit, n] of units) if (seconds > 0 && seconds % n === 0) return { value: String(seconds / n), unit };
  return { value: String(seconds), unit: "s" };
}

/** The largest unit that shows `bytes` exactly in a few digits (50 GiB, 1.5 GiB, else bytes). */
export function sizeParts(bytes: number): { value: string; unit: SizeUnit } {
  const units = Object.entries(SIZE_UNITS).reverse() as [SizeUnit, number][];
  for (const [unit, n] of units) {
    const v = bytes / n;
    if (unit !== "B" && v >= 1 && String(v).length <= 8 && Math.round(Number(String(v)) * n) === bytes) return { value: String(v), unit };
  }
  return { value: String(bytes), unit: "B" };
}

/** How `config` fills the form. */
export function formValues(config: Config): FormValues {
  const interval = durationParts(config.sync_interval_s);
  const lost = durationParts(config.peer_lost_after_s);
  const room = sizeParts(config.max_peer_storage_bytes);
  const allowance = sizeParts(config.bounty_allowance_bytes);
  const ollama = config.ollama_url;
  return {
    name: config.name,
    replication_factor: String(config.replication_factor),
    sync_interval: interval.value,
    sync_interval_unit: interval.unit,
    peer_lost: lost.value,
    peer_lost_unit: lost.unit,
    home_mode: config.home_mode,
    storage_allowance: room.value,
    storage_allowance_unit: room.unit,
    llm_share: config.llm_share,
    watch_dirs: config.watch_dirs.join("\n"),
    relays: config.relays.join("\n"),
    mdns: config.mdns ? "on" : "off",
    ollama_mode: ollama === null ? "auto" : ollama === "off" ? "off" : "address",
    ollama_address: ollama === null || ollama === "off" ? "" : ollama,
    bounty_allowance: allowance.value,
    bounty_allowance_unit: allowance.unit,
    bounty_exempt_favorites: config.bounty_exempt_favorites ? "yes" : "no",
    bounty_exempt_friends: config.bounty_exempt_friends ? "yes" : "no",
  };
}

/** A posted form body (strings, or files where a field is forged), as form values. */
export function readForm(body: Record<string, unknown>): FormValues {
  return FormValuesSchema.parse(body);
}

/** "3", "1.5": a number as typed, or null when it is none. */
function typedNumber(s: string): number | null {
  const t = s.trim();
  if (!t || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The value of one of the offered choices, or what was typed (for the schema to refuse). */
const choice = <T>(typed: string, options: Record<string, T>): T | string => (Object.hasOwn(options, typed) ? options[typed]! : typed);

/** Non-empty lines, trimmed. */
const lines = (s: string) =>
  s
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** The form's values as config.json values; a field that is not even a number gets its error here. */
function toValues(v: FormValues): { values: Partial<Record<FormKey, unknown>>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const values: Partial<Record<FormKey, unknown>> = {
    name: v.name.trim(),
    home_mode: v.home_mode,
    llm_share: v.llm_share,
    watch_dirs: lines(v.watch_dirs),
    relays: lines(v.relays),
    // Anything but the offered choices goes to the schema as typed, which refuses it.
    mdns: choice(v.mdns, { on: true, off: false }),
    bounty_exempt_favorites: choice(v.bounty_exempt_favorites, { yes: true, no: false }),
    bounty_exempt_friends: choice(v.bounty_exempt_friends, { yes: true, no: false }),
  };
  if (v.ollama_mode === "auto") values.ollama_url = null;
  else if (v.ollama_mode === "off") values.ollama_url = "off";
  else if (v.ollama_mode === "address") {
    const address = v.ollama_address.trim();
    if (!address) errors.ollama_url = "Enter the address of the Ollama to use, like http://192.168.1.5:11434.";
    else values.ollama_url = address;
  } else values.ollama_url = v.ollama_mode;
  const copies = typedNumber(v.replication_factor);
  if (copies === null) errors.replication_factor = "Enter a number of copies, like 2.";
  else values.replication_factor = copies;
  const interval = typedNumber(v.sync_interval);
  if (interval === null) errors.sync_interval_s = "Enter how often to sync, like 5 (minutes).";
  else values.sync_interval_s = Math.round(interval * DURATION_UNITS[v.sync_interval_unit] * 1000) / 1000;
  const lost = typedNumber(v.peer_lost);
  if (lost === null) errors.peer_lost_after_s = "Enter how long a peer may be away, like 1 (days).";
  else values.peer_lost_after_s = Math.round(lost * DURATION_UNITS[v.peer_lost_unit] * 1000) / 1000;
  const room = typedNumber(v.storage_allowance);
  if (room === null) errors.max_peer_storage_bytes = "Enter a size, like 50 (GiB), or 0 to keep nothing for others.";
  else values.max_peer_storage_bytes = Math.round(room * SIZE_UNITS[v.storage_allowance_unit]);
  const allowance = typedNumber(v.bounty_allowance);
  if (allowance === null) errors.bounty_allowance_bytes = "Enter a size, like 50 (GiB), or 0 to allow no debt.";
  else values.bounty_allowance_bytes = Math.round(allowance * SIZE_UNITS[v.bounty_allowance_unit]);
  return { values, errors };
}

/** "must be 1 or more" → "Must be 1 or more." */
function sentence(s: string): string {
  const t = s.trim();
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

/** The plain message for a schema problem of a form field (`index`: which line of a list). */
function fieldMessage(key: FormKey, message: string, index: number | undefined): string {
  if (key === "relays" && index !== undefined)
    return `Line ${index + 1} is not a relay address: write it as ws://HOST:PORT or wss://HOST:PORT.`;
  if (key === "watch_dirs" && index !== undefined)
    return /absolute/.test(message)
      ? `Line ${index + 1} must be a whole path from the root, like /home/me/Photos.`
      : `Line ${index + 1} ${message.trim()}.`;
  if (key === "home_mode") return "Choose mirror or on demand.";
  if (key === "llm_share") return "Choose friends or nobody.";
  if (key === "mdns") return "Choose on or off.";
  if (key === "bounty_exempt_favorites" || key === "bounty_exempt_friends") return "Choose yes or no.";
  if (key === "ollama_url") return "Write the address as http://HOST:PORT, like http://192.168.1.5:11434.";
  if ((key === "sync_interval_s" || key === "peer_lost_after_s") && /whole number/.test(message))
    return "Must be a whole number of seconds.";
  if ((key === "max_peer_storage_bytes" || key === "bounty_allowance_bytes") && /or more/.test(message)) return "Must be 0 or more.";
  return sentence(message);
}

/** The form's problems, one per field (the first), and those of keys the form does not show. */
export function issuesByField(issues: ConfigIssue[]): { fields: FieldErrors; other: string[] } {
  const fields: FieldErrors = {};
  const other: string[] = [];
  const keys = new Set<string>(FORM_KEYS);
  for (const i of issues) {
    const key = String(i.path[0] ?? "");
    if (keys.has(key)) {
      const k = key as FormKey;
      const index = typeof i.path[1] === "number" ? i.path[1] : undefined;
      fields[k] ??= fieldMessage(k, i.message, index);
    } else other.push(`“${key || "the file"}” ${i.message}`);
  }
  return { fields, other };
}

/** The outcome of a posted form: the new file's content and what changed, or what is wrong. */
export type FormOutcome =
  | { ok: true; next: Record<string, unknown>; config: Config; changed: FormKey[] }
  | { ok: false; errors: FieldErrors; other: string[] };

/**
 * Merge the form into config.json as it is (`raw`: other keys, unknown ones included, stay as
 * they are) and validate the whole result with the config schema. Nothing is written here.
 */
export function applyForm(raw: Record<string, unknown>, current: Config, form: FormValues): FormOutcome {
  const { values, errors } = toValues(form);
  const next: Record<string, unknown> = { ...raw };
  for (const k of FORM_KEYS) if (k in values) next[k] = values[k];
  const checked = checkConfig(next);
  if (!checked.ok) {
    const found = issuesByField(checked.issues);
    // A field that is not even a number keeps its own message (the schema saw it unchanged).
    return { ok: false, errors: { ...found.fields, ...errors }, other: found.other };
  }
  if (Object.keys(errors).length) return { ok: false, errors, other: [] };
  const changed = FORM_KEYS.filter((k) => JSON.stringify(checked.config[k]) !== JSON.stringify(current[k]));
  return { ok: true, next, config: checked.config, changed };
}
