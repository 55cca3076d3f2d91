/**
 * dav in process, without a cell: XML bodies (namespaces, dead property values, refusals), paths
 * and hrefs, the Destination header, locks (conflicts, coverage, tokens, timeouts on a fake
 * clock) and the If header (parsing and evaluation).
 */
import { describe, expect, test } from "bun:test";
import { GroveError } from "../../src/core/errors.ts";
import { destinationOf, hrefOf, isMacMetadata, parentOf, rebase, targetOf, within } from "../../src/dav/paths.ts";
import { errorXml, parseLockinfo, parseProppatch, parsePropfind, propXml } from "../../src/dav/xml.ts";
import { ifHolds, LockManager, MAX_TIMEOUT_S, parseIf, submittedTokens, timeoutOf } from "../../src/dav/locks.ts";
import { etagOf } from "../../src/dav/cell-tree.ts";
import { liveValue } from "../../src/dav/props.ts";
import { typeOfName } from "../../src/core/media-type.ts";

const status = (f: () => unknown): number | null => {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof GroveError ? e.status : -1;
  }
};

describe("xml", () => {
  test("PROPFIND: allprop when empty, named properties by namespace whatever the prefix, propname", () => {
    expect(parsePropfind("")).toEqual({ kind: "allprop", include: [] });
    const r = parsePropfind(
      `<?xml version="1.0"?><a:propfind xmlns:a="DAV:" xmlns:z="urn:x"><a:prop><a:getetag/><z:color/><plain xmlns=""/></a:prop></a:propfind>`,
    );
    expect(r).toEqual({
      kind: "prop",
      props: [
        { ns: "DAV:", name: "getetag" },
        { ns: "urn:x", name: "color" },
        { ns: "", name: "plain" },
      ],
    });
    expect(parsePropfind(`<propfind xmlns="DAV:"><propname/></propfind>`)).toEqual({ kind: "propname" });
    // Unknown elements are ignored (litmus propextended).
    expect(parsePropfind(`<propfind xmlns="DAV:"><foobar/><allprop/></propfind>`).kind).toBe("allprop");
  });

  test("malformed bodies, an undeclared prefix, an empty prefix binding and a DOCTYPE are 400", () => {
    expect(status(() => parsePropfind("<foo>"))).toBe(400);
    expect(status(() => parsePropfind(`<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>`))).toBe(400);
    expect(status(() => parsePropfind(`<x:propfind><x:prop/></x:propfind>`))).toBe(400);
    expect(status(() => parsePropfind(`<!DOCTYPE propfind [<!ENTITY a "aaaa">]><propfind xmlns="DAV:"><allprop/></propfind>`))).toBe(400);
    expect(status(() => parsePropfind(`<propfind xmlns="urn:not-dav"><allprop/></propfind>`))).toBe(400);
  });

  test("PROPPATCH: operations in document order; a value keeps its XML and the namespaces it needs", () => {
    const ops = parseProppatch(
      `<propertyupdate xmlns='DAV:'><remove><prop><t:a xmlns:t='urn:t'/></prop></remove>` +
        `<set><prop><t:a xmlns:t='urn:t'>x &amp; &#65536;</t:a><t:v xmlns:t='urn:t'><foo xmlns='http://bar'/><t:in/></t:v></prop></set></propertyupdate>`,
    );
    expect(ops.map((o) => `${o.op} {${o.prop.ns}}${o.prop.name}`)).toEqual(["remove {urn:t}a", "set {urn:t}a", "set {urn:t}v"]);
    expect(ops[1]!.value).toBe("x &amp; \u{10000}");
    expect(ops[2]!.value).toBe(`<foo xmlns="http://bar"/><t:in xmlns:t="urn:t"/>`);
  });

  test("LOCK body: scope and owner; only write locks", () => {
    expect(
      parseLockinfo(
        `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>http://me</D:href></D:owner></D:lockinfo>`,
      ),
    ).toEqual({
      scope: "shared",
      owner: `<D:href xmlns:D="DAV:">http://me</D:href>`,
    });
    expect(
      status(() => parseLockinfo(`<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><read/></locktype></lockinfo>`)),
    ).toBe(400);
  });

  test("answers: property elements declare their namespace; text is escaped", () => {
    expect(propXml({ ns: "DAV:", name: "getetag" }, "&quot;x&quot;")).toBe("<D:getetag>&quot;x&quot;</D:getetag>");
    expect(propXml({ ns: "urn:a&b", name: "c" })).toBe(`<g:c xmlns:g="urn:a&amp;b"/>`);
    expect(propXml({ ns: "", name: "n" }, "v")).toBe(`<n xmlns="">v</n>`);
    expect(errorXml("lock-token-submitted", ["/dav/a<b"])).toContain("<D:href>/dav/a&lt;b</D:href>");
  });
});

describe("paths", () => {
  test("URL path ↔ tree path: percent-decoding, UTF-8, the root, a trailing slash", () => {
    expect(targetOf("/dav", "/dav")).toEqual({ path: "", slash: true });
    expect(targetOf("/dav/", "/dav")).toEqual({ path: "", slash: true });
    expect(targetOf("/dav/Photos/a%20b%E2%82%AC.jpg", "/dav")).toEqual({ path: "Photos/a b€.jpg", slash: false });
    expect(targetOf("/dav/Photos/", "/dav")).toEqual({ path: "Photos", slash: true });
    expect(hrefOf("/dav", "Photos/a b€#1.jpg", false)).toBe("/dav/Photos/a%20b%E2%82%AC%231.jpg");
    expect(hrefOf("/dav", "Photos", true)).toBe("/dav/Photos/");
    expect(hrefOf("/dav", "", true)).toBe("/dav/");
  });

  test("refused: an encoded slash, traversal, empty segments, bad encoding, reserved names", () => {
    for (const p of ["/dav/a%2Fb", "/dav/a/%2e%2e/b", "/dav/a//b", "/dav/%E2%82", "/dav/.grove-upload-x", "/dav/a%00b"])
      expect(status(() => targetOf(p, "/dav"))).toBe(400);
  });

  test("Destination: absolute URI or path, same host only", () => {
    const req = new URL("http://127.0.0.1:5678/dav/a");
    expect(destinationOf("http://127.0.0.1:5678/dav/b%20c/", req, "/dav")).toEqual({ path: "b c", slash: true });
    expect(destinationOf("/dav/d", req, "/dav")).toEqual({ path: "d", slash: false });
    expect(destinationOf("http://elsewhere:5678/dav/d", req, "/dav")).toBeNull();
    expect(destinationOf("http://127.0.0.1:5678/api/files/d", req, "/dav")).toBeNull();
    expect(status(() => destinationOf(undefined, req, "/dav"))).toBe(400);
  });

  test("helpers, and the names macOS writes", () => {
    expect(parentOf("a/b/c")).toBe("a/b");
    expect(parentOf("a")).toBe("");
    expect(within("a/b", "a")).toBe(true);
    expect(within("ab", "a")).toBe(false);
    expect(within("x", "")).toBe(true);
    expect(rebase("a/b/c", "a/b", "z")).toBe("z/c");
    expect(isMacMetadata("Photos/._beach.jpg")).toBe(true);
    expect(isMacMetadata(".DS_Store")).toBe(true);
    expect(isMacMetadata("Photos/beach._jpg")).toBe(false);
    expect(etagOf("ff".repeat(32))).toBe(`"${"_".repeat(42)}8"`);
  });
});

describe("locks", () => {
  test("exclusive and shared: conflicts, coverage by depth, and the tokens a write needs", () => {
    const m = new LockManager();
    const a = m.create("docs", "infinity", "shared", "", 60);
    expect(m.conflicts("docs/x", 0, "shared")).toEqual([]);
    expect(m.conflicts("docs/x", 0, "exclusive").map((l) => l.token)).toEqual([a.token]);
    expect(m.conflicts("", "infinity", "exclusive").map((l) => l.token)).toEqual([a.token]); // a lock below the new one's scope
    expect(m.conflicts("other", 0, "exclusive")).toEqual([]);
    expect(m.covering("docs/x/y").map((l) => l.token)).toEqual([a.token]);
    expect(m.blocking("docs/x", new Set())?.token).toBe(a.token);
    expect(m.blocking("docs/x", new Set([a.token]))).toBeNull();
    const b = m.create("f", 0, "exclusive", "", 60);
    expect(m.blocking("f/child", new Set())).toBeNull(); // depth 0 covers only f itself
    const c = m.create("box", 0, "exclusive", "", 60);
    expect(m.blocking("box/new", new Set())).toBeNull();
    expect(m.blocking("box/new", new Set(), { member: true })?.token).toBe(c.token); // membership of a locked folder
    expect(m.blocking("", new Set([a.token, c.token]), { deep: true })?.token).toBe(b.token);
    m.dropTree("docs");
    expect(m.get(a.token)).toBeNull();
  });

  test("timeouts: capped, refreshed, and a lapsed lock is gone", () => {
    let now = 1_000_000;
    const m = new LockManager(() => now);
    expect(timeoutOf("Second-600")).toBe(600);
    expect(timeoutOf("Infinite, Second-4100000000")).toBe(MAX_TIMEOUT_S);
    expect(timeoutOf(undefined)).toBe(MAX_TIMEOUT_S);
    const l = m.create("a", 0, "exclusive", "", 10);
    now += 9_000;
    m.refresh(l, 10);
    now += 9_000;
    expect(m.get(l.token)).not.toBeNull();
    now += 2_000;
    expect(m.get(l.token)).toBeNull();
    expect(m.blocking("a", new Set())).toBeNull();
  });

  test("If header: parsed (tagged and untagged, Not, entity tags); malformed is 400", () => {
    const lists = parseIf(`<http://h/dav/a> (<urn:uuid:1> ["e1"]) (Not <DAV:no-lock>) (["e2"])`);
    expect(lists).toEqual([
      {
        resource: "http://h/dav/a",
        conditions: [
          { not: false, token: "urn:uuid:1" },
          { not: false, etag: '"e1"' },
        ],
      },
      { resource: "http://h/dav/a", conditions: [{ not: true, token: "DAV:no-lock" }] },
      { resource: "http://h/dav/a", conditions: [{ not: false, etag: '"e2"' }] },
    ]);
    expect([...submittedTokens(lists)]).toEqual(["urn:uuid:1"]);
    for (const bad of ["", "(", "(<a>", "()", "(x)", "<a>junk"]) expect(status(() => parseIf(bad))).toBe(400);
  });

  test("If header: evaluated against lock tokens and entity tags (litmus's conditional PUTs)", () => {
    const state = (p: string) => (p === "r" ? { etag: '"E"', tokens: new Set(["urn:uuid:T"]) } : { etag: null, tokens: new Set<string>() });
    const holds = (h: string) => ifHolds(parseIf(h), "r", (res) => (res.endsWith("/dav/other") ? "other" : null), state);
    expect(holds(`(<urn:uuid:T> ["E"])`)).toBe(true);
    expect(holds(`(<DAV:no-lock> ["E"])`)).toBe(false);
    expect(holds(`(<urn:uuid:T>) (Not <DAV:no-lock>)`)).toBe(true);
    expect(holds(`(<urn:uuid:T> ["X"]) (Not <DAV:no-lock> ["X"])`)).toBe(false);
    expect(holds(`(<urn:uuid:Tx>) (Not <DAV:no-lock>)`)).toBe(true); // holds, but submits no valid token: the lock check refuses
    expect(holds(`([W/"E"])`)).toBe(true);
    expect(holds(`<http://h/dav/other> (Not ["E"])`)).toBe(true);
    expect(holds(`<http://elsewhere/x> (Not ["E"])`)).toBe(false);
  });
});

describe("props", () => {
  test("getcontenttype gives the type the dashboard serves: a .wav, .flac or .m4a under its registered name", () => {
    const ctx = { locks: [], lockRootHref: () => "/dav/" };
    const file = (path: string) => ({ path, folder: false, size: 1, etag: '"x"', modified: 0, created: 0 });
    for (const [name, type] of [
      ["a/song.wav", "audio/wav"],
      ["song.flac", "audio/flac"],
      ["voice.m4a", "audio/mp4"],
      ["notes.txt", "text/plain"],
      ["blob", "application/octet-stream"],
    ] as const) {
      expect(liveValue(file(name), "getcontenttype", ctx)).toBe(type);
      expect(typeOfName(name)).toBe(type);
    }
    expect(liveValue({ ...file("d"), folder: true }, "getcontenttype", ctx)).toBeNull();
  });
});
