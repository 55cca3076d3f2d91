/** @jsxImportSource hono/jsx */
/**
 * @module views/preview — how a file is previewed in the dashboard, for the Feed (files friends
 * shared) and a file's page in the Files tab: which types are shown (text, raster images, PDF in the
 * browser's viewer; on a file's page also audio and video, streamed by Range from /api/files), the
 * text preview (its first bytes, and a note when there is more) and the PDF one. SVG is never shown
 * inline (it can carry script).
 */
import { servedInline } from "../src/core/media-type.ts";
import { formatBytes } from "../src/core/format.ts";

/** Bytes of a text file shown in its preview. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;

/** The MIME type without parameters, lower case ("text/plain;charset=utf-8" -> "text/plain"). */
export function baseType(fileType: string): string {
  return fileType.split(";")[0]!.trim().toLowerCase();
}

/** How a file is previewed as text, an image or a PDF, or not at all (what the Feed shows). */
export function previewKind(fileType: string): "text" | "image" | "pdf" | null {
  const t = baseType(fileType);
  if (t.startsWith("text/")) return "text";
  if (t.startsWith("image/") && servedInline(t)) return "image"; // never SVG: it can carry script
  if (t === "application/pdf") return "pdf";
  return null;
}

/** What a file's page shows: a Feed kind, or audio, video or PDF (played or opened from /api/files, by Range). */
export type FilePreviewKind = "text" | "image" | "audio" | "video" | "pdf";

/**
 * How a file of mine is previewed on its page, by its type (`served`: whether /api/files serves
 * that type inline, web/user-content; audio, video and PDF need it).
 */
export function filePreviewKind(fileType: string, served: boolean): FilePreviewKind | null {
  const t = baseType(fileType);
  const k = previewKind(t);
  if (k) return k;
  if (!served) return null;
  if (t.startsWith("audio/")) return "audio";
  if (t.startsWith("video/")) return "video";
  if (t === "application/pdf") return "pdf";
  return null;
}

/** The first bytes of a text file, with a note when the file is longer. */
export function TextPreview(p: { text: string; size: number }) {
  return (
    <>
      <pre class="preview-text">{p.text}</pre>
      {p.size > TEXT_PREVIEW_BYTES ? (
        <p class="notice">
          First {formatBytes(TEXT_PREVIEW_BYTES)} of {formatBytes(p.size)}: download it for the rest.
        </p>
      ) : null}
    </>
  );
}

/** A PDF in the browser's viewer, and a link to open it in a tab (for browsers that show none inline). */
export function PdfPreview(p: { src: string; name: string }) {
  return (
    <>
      <iframe class="preview-pdf" src={p.src} title={`PDF preview of ${p.name}`} loading="lazy"></iframe>
      <p>
        <a href={p.src} target="_blank" rel="noopener">
          Open {p.name} in a new tab
        </a>
      </p>
    </>
  );
}

/**
 * The preview of a file of mine on its page: `src` serves it (with Range), `text` is its head when
 * it is text. Images and text inline, audio and video in the browser's player, a PDF in the browser's
 * own viewer (an <iframe> of `src`, which frames only in the dashboard's origin), with a link to open
 * it in a tab for browsers that show no PDF inline (phones).
 */
export function FilePreview(p: { kind: FilePreviewKind; src: string; name: string; size: number; text?: string }) {
  const body = (() => {
    switch (p.kind) {
      case "image":
        return <img class="preview-img" src={p.src} alt={`Preview of ${p.name}`} />;
      case "text":
        return p.text === undefined ? <p class="notice">No preview.</p> : <TextPreview text={p.text} size={p.size} />;
      case "audio":
        return <audio class="preview-media" controls preload="metadata" src={p.src} aria-label={`Play ${p.name}`}></audio>;
      case "video":
        return <video class="preview-media" controls preload="metadata" src={p.src} aria-label={`Play ${p.name}`}></video>;
      case "pdf":
        return <PdfPreview src={p.src} name={p.name} />;
    }
  })();
  return (
    <section class="card file-preview" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      {body}
    </section>
  );
}
