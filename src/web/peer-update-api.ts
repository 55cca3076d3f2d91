/**
 * @module web/peer-update-api — /peer/update/*: the executables this cell offers to its peers
 * (update/release-store), for any platform it holds. The caller is a known peer (request
 * signature checked in web/peer-api) and every answer is signed by this cell for the request.
 *
 *   GET /peer/update/releases
 *       → {releases: [{target, build, build_time, size, sha256, sig}]}   (sig = the sig.json)
 *   GET /peer/update/release/:target?build=HASH&offset=N&length=M
 *       → the bytes [N, N+M) of that executable, M ≤ 8 MiB (default: to the end, at most 8 MiB);
 *         409 when the held build is no longer HASH, 404 when none is held, 416 for a bad range.
 *
 * Ranges keep each signed answer small (the response signature covers a buffered body); the
 * receiver checks the whole file's size and sha256 against the signed sig.json, and that
 * sig.json against its own trusted release keys — the transport is not what it trusts.
 */
import { Hono } from "hono";
import { GroveError, badRequest, notFound } from "../core/errors.ts";
import type { WebServices } from "./services.ts";
import { ReleaseStore, releasesDir, toOffer } from "../update/release-store.ts";
import { RANGE_BYTES } from "../update/updater.ts";
import type { PeerEnv } from "./peer-sync-api.ts";

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined || v === "") return dflt;
  if (!/^\d{1,15}$/.test(v)) throw badRequest(`${name} must be a non-negative integer`);
  return Number(v);
}

export function peerUpdateApi(s: WebServices): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const store = () => new ReleaseStore(releasesDir(s.cell.layout.dir));

  app.get("/releases", (c) => c.json({ releases: store().list().map(toOffer) }));

  app.get("/release/:target", async (c) => {
    const target = c.req.param("target");
    if (!/^[a-z0-9]+-[a-z0-9_]+$/.test(target)) throw badRequest("a target is a platform such as linux-x64");
    const entry = store().get(target);
    if (!entry) throw notFound(`this cell holds no executable for ${target}`);
    const build = c.req.query("build");
    if (build && build !== entry.sig.build)
      throw new GroveError(
        `this cell now holds build ${entry.sig.build.slice(0, 12)} for ${target}, not ${build.slice(0, 12)}`,
        409,
        "changed",
      );
    const size = entry.sig.size;
    const offset = int(c.req.query("offset"), "offset", 0);
    const length = int(c.req.query("length"), "length", Math.min(RANGE_BYTES, Math.max(0, size - offset)));
    if (length < 1 || length > RANGE_BYTES || offset + length > size) {
      throw new GroveError(`range ${offset}+${length} is outside the ${size}-byte file or over ${RANGE_BYTES} bytes`, 416, "bad_range");
    }
    const bytes = await Bun.file(entry.path)
      .slice(offset, offset + length)
      .bytes();
    if (bytes.byteLength !== length) throw new GroveError("the executable changed while being read", 409, "changed");
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/octet-stream",
      "X-Grove-Release-Size": String(size),
      "X-Grove-Release-Sha256": entry.sig.sha256,
    });
  });

  return app;
}
