/** @module web/context — the Hono environment shared by every sub-app: the cell and who is asking. */
import type { Cell } from "../cell/cell.ts";
import type { Session } from "./sessions.ts";

export type WebEnv = {
  Variables: {
    cell: Cell;
    /** How the request authenticated: API token, dashboard session, or not at all. */
    auth: "bearer" | "session" | null;
    session: (Session & { token: string }) | null;
  };
  Bindings: {
    server?: import("bun").Server<unknown>;
    /** Which listener the request came through (web/listeners); absent in-process (app.request) and through a relay. */
    listener?: "dashboard" | "peer";
  };
};
