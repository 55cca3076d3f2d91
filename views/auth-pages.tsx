/** @jsxImportSource hono/jsx */
/**
 * @module views/auth-pages — the bodies of first-run password setup, the login form and the
 * error page (framed by views/layout).
 */

type Base = { formCsrf: string; error?: string };

export function SetupPage(p: Base & { allowed: boolean; codeFile: string }) {
  return (
    <section class="card narrow">
      <h1>Welcome to Grove</h1>
      {p.allowed ? (
        <>
          <p>Choose a password for this cell's dashboard (at least 8 characters).</p>
          <p>
            To show that this is your cell, type its <strong>setup code</strong>: the cell printed it when it started, and it is in the file{" "}
            <code>{p.codeFile}</code> (readable by you only).
          </p>
          {p.error ? (
            <p class="error" role="alert">
              {p.error}
            </p>
          ) : null}
          <form method="post" action="/setup" class="busy-form" data-busy="Setting the password…">
            <input type="hidden" name="_csrf" value={p.formCsrf} />
            <label>
              Setup code{" "}
              <input
                type="text"
                name="code"
                id="code"
                autocomplete="one-time-code"
                required
                maxlength={32}
                spellcheck={false}
                placeholder="XXXX-XXXX-XXXX-XXXX"
              />
            </label>
            <label>
              Password <input type="password" name="password" id="password" autocomplete="new-password" required minlength={8} />
            </label>
            <label>
              Repeat <input type="password" name="confirm" id="confirm" autocomplete="new-password" required minlength={8} />
            </label>
            <button type="submit">Set password</button>
          </form>
        </>
      ) : (
        <>
          <p class="error">The first password can only be set from the machine this cell runs on.</p>
          <p>
            Open the dashboard there (on localhost), or, in a terminal on that machine, run <code>grove password</code>.
          </p>
        </>
      )}
    </section>
  );
}

/**
 * The login form. While a password is checked (about a second), the button says so and stays
 * disabled; after a refusal that asks to wait, it counts the seconds down (public/app.js).
 */
export function LoginPage(p: Base & { waitS?: number }) {
  return (
    <section class="card narrow">
      <h1>Log in</h1>
      {p.error ? (
        <p class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      <form
        method="post"
        action="/login"
        class="busy-form"
        data-busy="Checking the password…"
        data-wait={p.waitS ? String(p.waitS) : undefined}
      >
        <input type="hidden" name="_csrf" value={p.formCsrf} />
        <label>
          Password <input type="password" name="password" id="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
        <p class="muted busy-note" aria-live="polite"></p>
      </form>
    </section>
  );
}

export function ErrorPage(p: { status: number; message: string; heading?: string }) {
  return (
    <section class="card narrow">
      <h1>{p.heading ?? `Something went wrong (${p.status})`}</h1>
      <p class="error">{p.message}</p>
      <p>
        <a href="/">Back to the dashboard</a>
      </p>
    </section>
  );
}
