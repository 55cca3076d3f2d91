/**
 * @module core/plain-issue — a validation problem in plain words for the person who made it:
 * "must be a whole number" rather than the validation library's (zod's) "Invalid input: expected
 * int, received number". Pass it as the error map of a parse whose problems reach a user (a
 * config file, a pasted token); messages a schema sets itself still win.
 *
 * @example Schema.safeParse(raw, { error: plainIssue })
 */
import type { z } from "zod";

const TYPES: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text (in quotes)",
  boolean: "true or false",
  array: "a list ([…])",
  object: "an object ({…})",
  null: "null",
  bigint: "a whole number",
};

const FORMATS: Record<string, string> = {
  url: "a URL (like http://host:port)",
  email: "an email address",
  uuid: "a UUID",
  regex: "in the expected form",
  datetime: "a date and time (ISO 8601)",
  ipv4: "an IPv4 address",
  ipv6: "an IPv6 address",
};

/** `"a", "b" or "c"` */
function oneOf(values: readonly unknown[]): string {
  const words = values.map((v) => JSON.stringify(v) ?? String(v));
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

function bound(issue: { origin?: string; inclusive?: boolean }, n: number | bigint, side: "min" | "max"): string {
  const count = Number(n);
  switch (issue.origin) {
    case "string":
      if (side === "min") return count === 1 ? "must not be empty" : `must have at least ${count} characters`;
      return `must have at most ${count} characters`;
    case "array":
    case "set":
      if (side === "min") return count === 1 ? "must not be empty" : `must have at least ${count} items`;
      return `must have at most ${count} item${count === 1 ? "" : "s"}`;
    default:
      if (side === "min") return issue.inclusive === false ? `must be more than ${n}` : `must be ${n} or more`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be ${n} or less`;
  }
}

/**
 * The plain words for one zod issue, or undefined to leave zod's own message (a kind of
 * problem not known here).
 */
export function plainIssue(issue: z.core.$ZodRawIssue): string | undefined {
  const i = issue as z.core.$ZodRawIssue & Record<string, unknown>;
  switch (issue.code) {
    case "invalid_type":
      if (i.input === undefined) return "is missing";
      return `must be ${TYPES[String(i.expected)] ?? `of type ${String(i.expected)}`}`;
    case "too_small":
      return bound(i as { origin?: string; inclusive?: boolean }, i.minimum as number, "min");
    case "too_big":
      return bound(i as { origin?: string; inclusive?: boolean }, i.maximum as number, "max");
    case "invalid_format":
      return `must be ${FORMATS[String(i.format)] ?? `a valid ${String(i.format)}`}`;
    case "invalid_value": {
      const values = (i.values as unknown[] | undefined) ?? [];
      return values.length === 1 ? `must be ${oneOf(values)}` : `must be one of ${oneOf(values)}`;
    }
    case "not_multiple_of":
      return `must be a multiple of ${String(i.divisor)}`;
    case "unrecognized_keys": {
      const keys = (i.keys as string[] | undefined) ?? [];
      return `has ${keys.length === 1 ? "an unknown key" : "unknown keys"}: ${keys.map((k) => JSON.stringify(k)).join(", ")}`;
    }
    case "invalid_union":
      return "is not in any of the accepted forms";
    default:
      return undefined;
  }
}
