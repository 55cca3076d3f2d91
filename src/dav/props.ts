/**
 * @module dav/props — an entry's properties as PROPFIND answers them: the live ones, computed from
 * the tree and the locks (displayname, getcontentlength, getcontenttype, getetag, getlastmodified,
 * creationdate, resourcetype, supportedlock, lockdiscovery), and the dead ones a client stored.
 * Live properties are protected: a PROPPATCH of one is refused (403) and fails the whole request.
 */
import { typeOfName } from "../core/media-type.ts";
import type { Lock } from "./locks.ts";
import { nameOf } from "./paths.ts";
import type { DavEntry, DeadProp } from "./tree.ts";
import { DAV_NS, esc, propXml, statusXml, type PropfindRequest, type PropName } from "./xml.ts";

/** The live properties, all in DAV:. */
export const LIVE = [
  "creationdate",
  "displayname",
  "getcontentlength",
  "getcontenttype",
  "getetag",
  "getlastmodified",
  "lockdiscovery",
  "resourcetype",
  "supportedlock",
] as const;
const LIVE_SET: ReadonlySet<string> = new Set(LIVE);

/** True for a property a client may not set or remove. */
export function isProtected(p: PropName): boolean {
  return p.ns === DAV_NS && LIVE_SET.has(p.name);
}

const SUPPORTED =
  "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>" +
  "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>";

/** One DAV:activelock; `rootHref` is the locked resource's href. */
export function activeLockXml(l: Lock, rootHref: string): string {
  return (
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${l.scope}/></D:lockscope>` +
    `<D:depth>${l.depth === 0 ? "0" : "infinity"}</D:depth>` +
    (l.owner ? `<D:owner>${l.owner}</D:owner>` : "") +
    `<D:timeout>Second-${Math.max(0, Math.round((l.expires - Date.now()) / 1000))}</D:timeout>` +
    `<D:locktoken><D:href>${esc(l.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${esc(rootHref)}</D:href></D:lockroot></D:activelock>`
  );
}

/** What a live property needs besides the entry: the locks covering it and how to name their roots. */
export interface LiveContext {
  locks: readonly Lock[];
  lockRootHref(lock: Lock): string;
}

/** The value (XML) of live property `name` for `e`, or null where it is not defined (a folder's length, type and ETag). */
export function liveValue(e: DavEntry, name: string, ctx: LiveContext): string | null {
  switch (name) {
    case "creationdate":
      return new Date(e.created).toISOString();
    case "displayname":
      return esc(nameOf(e.path));
    case "getcontentlength":
      return e.folder ? null : String(e.size);
    case "getcontenttype":
      return e.folder ? null : esc(typeOfName(nameOf(e.path)));
    case "getetag":
      return e.etag === null ? null : esc(e.etag);
    case "getlastmodified":
      return new Date(e.modified).toUTCString();
    case "lockdiscovery":
      return ctx.locks.map((l) => activeLockXml(l, ctx.lockRootHref(l))).join("");
    case "resourcetype":
      return e.folder ? "<D:collection/>" : "";
    case "supportedlock":
      return SUPPORTED;
    default:
      return null;
  }
}

function propstat(props: readonly string[], status: number): string {
  return props.length ? `<D:propstat><D:prop>${props.join("")}</D:prop>${statusXml(status)}</D:propstat>` : "";
}

/** One DAV:response of a PROPFIND for `e` at `href`. */
export function propfindResponse(e: DavEntry, href: string, req: PropfindRequest, dead: readonly DeadProp[], ctx: LiveContext): string {
  const found: string[] = [];
  const missing: string[] = [];
  if (req.kind === "prop") {
    for (const p of req.props) {
      const live = p.ns === DAV_NS && LIVE_SET.has(p.name) ? liveValue(e, p.name, ctx) : null;
      const d = live === null ? dead.find((x) => x.ns === p.ns && x.name === p.name) : undefined;
      if (live !== null) found.push(propXml(p, live));
      else if (d) found.push(propXml(p, d.value));
      else missing.push(propXml(p));
    }
  } else {
    for (const name of LIVE) {
      const v = liveValue(e, name, ctx);
      if (v !== null) found.push(propXml({ ns: DAV_NS, name }, req.kind === "propname" ? "" : v));
    }
    for (const d of dead) found.push(propXml(d, req.kind === "propname" ? "" : d.value));
  }
  return `<D:response><D:href>${esc(href)}</D:href>${propstat(found, 200)}${propstat(missing, 404)}</D:response>`;
}

/** The DAV:response of a PROPPATCH: each property once, with its status. */
export function proppatchResponse(href: string, results: readonly { prop: PropName; status: number }[]): string {
  const byStatus = new Map<number, string[]>();
  for (const r of results) byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), propXml(r.prop)]);
  return `<D:response><D:href>${esc(href)}</D:href>${[...byStatus].map(([s, p]) => propstat(p, s)).join("")}</D:response>`;
}
