/**
 * @module core/json-size — is a value's JSON text longer than a limit? Answered without
 * JSON.stringify and without recursion, stopping as soon as the limit is passed: a hostile value
 * from the network (100,000-deep nesting, which JSON.parse accepts but JSON.stringify overflows
 * on after seconds of work; a million-element array) costs at most about `limit` steps.
 */

/**
 * True when `JSON.stringify(value)` would be longer than `limit` characters. Values that
 * JSON.stringify leaves out or cannot write (undefined, functions, bigint) count as `null`, so
 * the answer errs on the long side, never the short one.
 * @example jsonLengthExceeds({ a: [1, 2] }, 8) // true: {"a":[1,2]} is 11 characters
 */
export function jsonLengthExceeds(value: unknown, limit: number): boolean {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") n += v.length > limit ? v.length : JSON.stringify(v).length;
    else if (typeof v === "number") n += Number.isFinite(v) ? String(v).length : 4;
    else if (typeof v === "boolean") n += v ? 4 : 5;
    else if (Array.isArray(v)) {
      n += 2 + Math.max(0, v.length - 1);
      if (n > limit) return true;
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      n += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        if (n > limit) return true;
        n += JSON.stringify(k).length + 1;
        stack.push((v as Record<string, unknown>)[k]);
      }
    } else n += 4; // null, undefined, function, bigint, symbol
    if (n > limit) return true;
  }
  return false;
}
