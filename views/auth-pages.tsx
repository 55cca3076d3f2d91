/** @jsxImportSource hono/jsx */
/** @module views/auth-pages — first-run password setup and the login form. */
import { Layout, type PageInfo } from "./layout.tsx";

type Base = Omit<PageInfo, "title" | "csrf" | "active"> & { formCsrf: string; error?: string };

export function SetupPage(p: Base & { allowed: boolean }) {
  return (
    <Layout title="Set a password" cellName={p.cellName} cellId={p.cellId}>
      <section class="card narrow">
        <h1>Welcome to Grove</h1>
        {p.allowed ? (
          <>
            <p>Choose a password for this cell's dashboard (at least 8 characters).</p>
            {p.error ? <p class="error" role="alert">{p.error}</p> : null}
            <form method="post" action="/setup">
              <input type="hidden" name="_csrf" value={p.formCsrf} />
              <label>Password <input type="password" name="password" id="password" autocomplete="new-password" required minlength={8} /></label>
              <label>Repeat <input type="password" name="confirm" id="confirm" autocomplete="new-password" required minlength={8} /></label>
              <button type="submit">Set password</button>
            </form>
          </>
        ) : (
          <p class="error">The first password can only be set from this machine (open the dashboard on localhost).</p>
        )}
      </section>
    </Layout>
  );
}

export function LoginPage(p: Base) {
  return (
    <Layout title="Log in" cellName={p.cellName} cellId={p.cellId}>
      <section class="card narrow">
        <h1>Log in</h1>
        {p.error ? <p class="error" role="alert">{p.error}</p> : null}
        <form method="post" action="/login">
          <input type="hidden" name="_csrf" value={p.formCsrf} />
          <label>Password <input type="password" name="password" id="password" autocomplete="current-password" required /></label>
          <button type="submit">Log in</button>
        </form>
      </section>
    </Layout>
  );
}

export function ErrorPage(p: { cellName: string; cellId: string; csrf?: string; status: number; message: string }) {
  return (
    <Layout title={`Error ${p.status}`} cellName={p.cellName} cellId={p.cellId} csrf={p.csrf} active={p.csrf ? "none" : undefined}>
      <section class="card narrow">
        <h1>Something went wrong ({p.status})</h1>
        <p class="error">{p.message}</p>
        <p><a href="/">Back to the dashboard</a></p>
      </section>
    </Layout>
  );
}
