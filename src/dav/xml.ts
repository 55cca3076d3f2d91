/**
 * @module dav/xml — the XML of WebDAV (RFC 4918 section 14). Request bodies (PROPFIND, PROPPATCH,
 * LOCK) are parsed by @xmldom/xmldom, which resolves namespaces: a property is its namespace and
 * local name whatever prefix a client chose, and a dead property's value is kept as the XML the
 * client sent, serialised with the namespace declarations it needs. Bodies are small (web/body-limit
 * bounds them), a DOCTYPE is refused, and entities beyond XML's own are not expanded. Answers are
 * written as text, every name and value escaped.
 */
import { DOMParser, XMLSerializer, type Element, type Node } from "@xmldom/xmldom";
import { badRequest } from "../core/errors.ts";

export const DAV_NS = "DAV:";

/** A property's name: its namespace ("" for none) and local name. */
export interface PropName {
  ns: string;
  name: string;
}

const ELEMENT_NODE = 1;

/** The root element of `text`; 400 for anything that is not one well-formed, namespace-correct XML document. */
export function parseXml(text: string): Element {
  let doc;
  try {
    doc = new DOMParser({
      locator: false,
      onError: (level, msg) => {
        if (level !== "warning") throw new Error(msg);
      },
    }).parseFromString(text, "application/xml");
  } catch (e) {
    throw badRequest(`the XML body is not well-formed: ${(e instanceof Error ? e.message : String(e)).slice(0, 200)}`);
  }
  if (doc.doctype) throw badRequest("the XML body may not have a DOCTYPE");
  const root = doc.documentElement;
  if (!root) throw badRequest("the XML body has no root element");
  return root;
}

/** The element children of `el`, in order. */
export function elements(el: Element): Element[] {
  const out: Element[] = [];
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  return out;
}

export function nameOfElement(el: Element): PropName {
  return { ns: el.namespaceURI ?? "", name: el.localName ?? el.nodeName };
}

/** True when `el` is {DAV:}`name`. */
export function isDav(el: Element, name: string): boolean {
  return el.namespaceURI === DAV_NS && el.localName === name;
}

const serializer = new XMLSerializer();

/** The content of `el` as XML text (children serialised, each with the namespace declarations it needs). */
export function innerXml(el: Element): string {
  let out = "";
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) out += serializer.serializeToString(n);
  return out;
}

/** What a PROPFIND asks for (RFC 4918 section 9.1); an empty body is allprop. */
export type PropfindRequest = { kind: "allprop"; include: PropName[] } | { kind: "propname" } | { kind: "prop"; props: PropName[] };

export function parsePropfind(body: string): PropfindRequest {
  if (!body.trim()) return { kind: "allprop", include: [] };
  const root = parseXml(body);
  if (!isDav(root, "propfind")) throw badRequest("a PROPFIND body must be a DAV:propfind element");
  const kids = elements(root);
  const prop = kids.find((k) => isDav(k, "prop"));
  if (prop) return { kind: "prop", props: elements(prop).map(nameOfElement) };
  if (kids.some((k) => isDav(k, "propname"))) return { kind: "propname" };
  if (kids.some((k) => isDav(k, "allprop"))) {
    const inc = kids.find((k) => isDav(k, "include"));
    return { kind: "allprop", include: inc ? elements(inc).map(nameOfElement) : [] };
  }
  throw badRequest("a DAV:propfind must hold DAV:prop, DAV:propname or DAV:allprop");
}

/** One instruction of a PROPPATCH, in document order; `value` is the new content as XML (set only). */
export interface PatchOp {
  op: "set" | "remove";
  prop: PropName;
  value: string;
}

export function parseProppatch(body: string): PatchOp[] {
  const root = parseXml(body);
  if (!isDav(root, "propertyupdate")) throw badRequest("a PROPPATCH body must be a DAV:propertyupdate element");
  const ops: PatchOp[] = [];
  for (const k of elements(root)) {
    const op = isDav(k, "set") ? "set" : isDav(k, "remove") ? "remove" : null;
    if (!op) continue; // unknown elements are ignored (RFC 4918 section 17)
    for (const prop of elements(k).filter((e) => isDav(e, "prop"))) {
      for (const p of elements(prop)) ops.push({ op, prop: nameOfElement(p), value: op === "set" ? innerXml(p) : "" });
    }
  }
  if (!ops.length) throw badRequest("a DAV:propertyupdate must set or remove at least one property");
  return ops;
}

/** A LOCK request's body (RFC 4918 section 14.11): a write lock, exclusive or shared, and its owner as XML. */
export interface LockInfo {
  scope: "exclusive" | "shared";
  owner: string;
}

export function parseLockinfo(body: string): LockInfo {
  const root = parseXml(body);
  if (!isDav(root, "lockinfo")) throw badRequest("a LOCK body must be a DAV:lockinfo element");
  const kids = elements(root);
  const scopeEl = kids.find((k) => isDav(k, "lockscope"));
  const scope = scopeEl && elements(scopeEl).find((k) => isDav(k, "exclusive") || isDav(k, "shared"));
  if (!scope) throw badRequest("a DAV:lockinfo needs a DAV:lockscope of DAV:exclusive or DAV:shared");
  const typeEl = kids.find((k) => isDav(k, "locktype"));
  if (!typeEl || !elements(typeEl).some((k) => isDav(k, "write"))) throw badRequest("only DAV:write locks exist");
  const owner = kids.find((k) => isDav(k, "owner"));
  return { scope: scope.localName === "exclusive" ? "exclusive" : "shared", owner: owner ? innerXml(owner) : "" };
}

/** `text` escaped for XML content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/**
 * A property element holding `inner` (XML, already safe), or empty. DAV: names take the `D:` prefix
 * the answer declares; others declare their own namespace on the element.
 *
 * @example propXml({ ns: "urn:x", name: "a" }, "1") // '<g:a xmlns:g="urn:x">1</g:a>'
 */
export function propXml(p: PropName, inner = ""): string {
  const [open, close] =
    p.ns === DAV_NS
      ? [`D:${p.name}`, `D:${p.name}`]
      : p.ns === ""
        ? [`${p.name} xmlns=""`, p.name]
        : [`g:${p.name} xmlns:g="${esc(p.ns)}"`, `g:${p.name}`];
  return inner === "" ? `<${open}/>` : `<${open}>${inner}</${close}>`;
}

const REASONS: Record<number, string> = {
  200: "OK",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  423: "Locked",
  424: "Failed Dependency",
  507: "Insufficient Storage",
};

/** A DAV:status line. */
export function statusXml(code: number): string {
  return `<D:status>HTTP/1.1 ${code} ${REASONS[code] ?? ""}</D:status>`;
}

/** A whole 207 body from the given DAV:response elements. */
export function multistatus(responses: readonly string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${responses.join("")}</D:multistatus>\n`;
}

/** A DAV:error body naming a precondition (RFC 4918 section 16), with the hrefs it concerns. */
export function errorXml(condition: string, hrefs: readonly string[] = []): string {
  const inner = hrefs.map((h) => `<D:href>${esc(h)}</D:href>`).join("");
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${condition}>${inner}</D:${condition}></D:error>\n`;
}
