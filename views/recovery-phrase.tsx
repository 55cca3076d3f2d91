/** @jsxImportSource hono/jsx */
/**
 * @module views/recovery-phrase — the 24 words on the dashboard: the Settings section that asks
 * for the dashboard password before showing them (web/recovery-phrase-pages checks it), the words
 * themselves with their warning, the "I wrote it down" button, and the first-run offer that the
 * layout shows above the Files list until that button was pressed (web/phrase-offer).
 */

export const REVEAL_URL = "/settings/recovery-phrase";
export const WRITTEN_URL = "/settings/recovery-phrase/written";

/** What the first-run offer shows: the words (the session proved the password moments ago), or a way to Settings. */
export interface PhraseOfferInfo {
  words: string[] | null;
  /** The page it is shown on (a form post without JavaScript comes back here). */
  back: string;
}

/** "I wrote it down": records that the words were shown, so the dashboard stops offering them. */
export function WrittenForm({ csrf, back }: { csrf?: string; back: string }) {
  return (
    <form method="post" action={WRITTEN_URL} class="phrase-written" hx-post={WRITTEN_URL} hx-swap="outerHTML" hx-disabled-elt="find button">
      {csrf ? <input type="hidden" name="_csrf" value={csrf} /> : null}
      <input type="hidden" name="back" value={back} />
      <button type="submit" id="phrase-written">
        I wrote it down
      </button>
    </form>
  );
}

/** The answer to "I wrote it down" (in place of its form). */
export function WrittenNote() {
  return (
    <p class="notice phrase-noted" id="phrase-noted" role="status">
      Noted: the dashboard will not offer the words again. Settings shows them again after your password.
    </p>
  );
}

/** The 24 words, numbered, with what they are worth; "I wrote it down" while that was never said. */
export function PhraseWords(p: { words: string[]; written: boolean; csrf?: string; back: string }) {
  return (
    <div class="phrase" id="phrase-shown">
      <p class="warn" role="note">
        Anyone who has these words can become this cell and read all of its files. Write them on paper and keep them offline; never type
        them into a website or a message.
      </p>
      <ol class="phrase-words" aria-label="Recovery phrase, 24 words">
        {p.words.map((w, i) => (
          <li>
            <span class="n">{i + 1}.</span> <span class="w">{w}</span>
          </li>
        ))}
      </ol>
      <p class="notice">
        With them, <code>grove recover</code> brings this cell back on a new machine, with its identity and keys.
      </p>
      {p.written ? null : <WrittenForm csrf={p.csrf} back={p.back} />}
    </div>
  );
}

/** The password prompt in front of the words (Settings, and the page a form post without JavaScript lands on). */
export function RevealForm(p: { csrf?: string; error?: string; waitS?: number; noPassword?: boolean }) {
  if (p.noPassword)
    return (
      <p class="notice" id="phrase-reveal">
        This dashboard has no password, so it cannot check that you are you: run <code>grove recovery-phrase</code> in a terminal on this
        machine to see the words.
      </p>
    );
  return (
    <form
      method="post"
      action={REVEAL_URL}
      id="phrase-reveal"
      class="phrase-reveal"
      hx-post={REVEAL_URL}
      hx-target="#recovery-phrase-box"
      hx-swap="innerHTML"
      hx-disabled-elt="find button"
      hx-indicator="#phrase-indicator"
    >
      {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
      <label for="phrase-password">Your dashboard password</label>
      <div class="inline-fields">
        <input
          type="password"
          name="password"
          id="phrase-password"
          autocomplete="current-password"
          required
          aria-invalid={p.error ? "true" : undefined}
          aria-describedby={p.error ? "phrase-error" : undefined}
        />
        <button type="submit" id="phrase-show">
          Show recovery phrase
        </button>
        <span class="busy-indicator" id="phrase-indicator" role="status">
          <span class="spinner" aria-hidden="true"></span> Checking the password…
        </span>
      </div>
      {p.error ? (
        <p class="field-error" id="phrase-error" role="alert" data-wait={p.waitS ? String(p.waitS) : undefined}>
          {p.error}
        </p>
      ) : null}
    </form>
  );
}

/** The Settings tab's section: what the phrase is, and the prompt (or, after it, the words). */
export function RecoverySection(p: { csrf?: string; noPassword: boolean; written: boolean }) {
  return (
    <section class="card" id="recovery-phrase">
      <h2>Recovery phrase</h2>
      <p>
        24 words that restore this cell (its identity and the keys to its files) if this machine is lost.
        {p.written ? "" : " You have not written them down yet."} Type your password to see them.
      </p>
      <div id="recovery-phrase-box" aria-live="polite">
        <RevealForm csrf={p.csrf} noPassword={p.noPassword} />
      </div>
    </section>
  );
}

/** The first-run offer, above the Files list (where setup and login land) until "I wrote it down". */
export function PhraseOffer({ offer, csrf }: { offer: PhraseOfferInfo; csrf?: string }) {
  return (
    <section class="card phrase-offer" id="phrase-offer" aria-labelledby="phrase-offer-title">
      <h2 id="phrase-offer-title">Write down your recovery phrase</h2>
      {offer.words ? (
        <>
          <p>These 24 words are shown this once. If this machine is lost, they bring the cell and your files back.</p>
          <PhraseWords words={offer.words} written={false} csrf={csrf} back={offer.back} />
        </>
      ) : (
        <p>
          This cell's 24-word recovery phrase has not been written down yet. If this machine is lost, it is what brings the cell and your
          files back. <a href={`/settings#recovery-phrase`}>Show it in Settings</a> (after your password).
        </p>
      )}
    </section>
  );
}

/** The page a form post without JavaScript gets: the words, or the prompt again with what was wrong. */
export function PhrasePage(p: {
  words: string[] | null;
  written: boolean;
  csrf?: string;
  error?: string;
  waitS?: number;
  noPassword?: boolean;
}) {
  return (
    <section class="card" id="recovery-phrase">
      <h1>Recovery phrase</h1>
      <div id="recovery-phrase-box">
        {p.words ? (
          <PhraseWords words={p.words} written={p.written} csrf={p.csrf} back="/settings" />
        ) : (
          <RevealForm csrf={p.csrf} error={p.error} waitS={p.waitS} noPassword={p.noPassword} />
        )}
      </div>
      <p>
        <a href="/settings">Back to Settings</a>
      </p>
    </section>
  );
}
