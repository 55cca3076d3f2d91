/** @module core/errors — typed errors that carry an HTTP status and a one-line message. */

/** An error meant for the user: `message` is one clear line, `status` the HTTP code to answer with. */
export class GroveError extends Error {
  constructor(
    message: string,
    readonly status: number = 500,
    readonly code: string = "error",
  ) {
    super(message);
    this.name = "GroveError";
  }
}

export const badRequest = (msg: string) => new GroveError(msg, 400, "bad_request");
export const notFound = (msg: string) => new GroveError(msg, 404, "not_found");
export const unauthorized = (msg: string) => new GroveError(msg, 401, "unauthorized");
export const forbidden = (msg: string) => new GroveError(msg, 403, "forbidden");
export const tooLarge = (msg: string) => new GroveError(msg, 413, "too_large");
export const conflict = (msg: string) => new GroveError(msg, 409, "conflict");

/**
 * No route matched. HTTP clients and Bun normalise `..` segments away, so a traversal attempt
 * such as PUT /api/files/../../x arrives as PUT /x: state-changing methods get 400, reads 404.
 */
export function unknownRoute(method: string, path: string): GroveError {
  if (method === "GET" || method === "HEAD") return new GroveError(`not found: ${path}`, 404, "no_route");
  return new GroveError(`no route for ${method} ${path} (file paths go under /api/files/ and may not contain '..')`, 400, "no_route");
}

/** Stored data failed verification (wrong hash, bad tag, missing chunk). Never served as bytes. */
export class IntegrityError extends GroveError {
  constructor(
    message: string,
    readonly chunk: string,
    readonly index: number,
  ) {
    super(message, 500, "integrity");
    this.name = "IntegrityError";
  }
}

/** The message of any thrown value, for logs and one-line CLI errors. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
