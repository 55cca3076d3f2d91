/**
 * @module ai/conversations — conversations with the assistant (placement.db `conversations` and
 * `turns`, schemas 009 and 011). A question and its answer are stored together, in one
 * transaction, with the cell whose model answered.
 */
import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { notFound } from "../core/errors.ts";

export interface ConversationRow {
  id: string;
  title: string;
  model: string;
  /** The cell of the latest answer (null: answered here, before cells were recorded). */
  cell: string | null;
  created_at: number;
  updated_at: number;
}

export interface ConversationSummary extends ConversationRow {
  turns: number;
}

export interface Turn {
  seq: number;
  role: "user" | "assistant";
  text: string;
  model: string | null;
  tokens: number | null;
  ms: number | null;
  /** assistant: the cell whose model answered (null: this cell, before cells were recorded). */
  cell: string | null;
  at: number;
}

/** A question and its answer, to append. */
export interface Exchange {
  question: string;
  answer: string;
  model: string;
  tokens: number;
  ms: number;
  asked_at: number;
  answered_at: number;
  /** The cell whose model answered. */
  cell: string;
}

const TITLE_MAX = 80;

/** A conversation title from its first question: one line, at most 80 characters. */
export function titleOf(question: string): string {
  const flat = question.replace(/\s+/g, " ").trim();
  return flat.length > TITLE_MAX ? flat.slice(0, TITLE_MAX - 1) + "…" : flat;
}

export const newConversationId = () => randomBytes(8).toString("hex");

export class ConversationStore {
  constructor(private db: Database) {}

  get(id: string): ConversationRow | null {
    return (this.db.query("SELECT * FROM conversations WHERE id = ?").get(id) as ConversationRow | null) ?? null;
  }

  /** The conversation or a 404. */
  require(id: string): ConversationRow {
    const c = this.get(id);
    if (!c) throw notFound(`no conversation ${id} (see GET /api/chat)`);
    return c;
  }

  /** Every conversation, the most recently used first, with its number of turns. */
  list(limit = 500): ConversationSummary[] {
    return this.db
      .query(
        `SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) AS turns
         FROM conversations c ORDER BY c.updated_at DESC, c.id LIMIT ?`,
      )
      .all(limit) as ConversationSummary[];
  }

  /** The turns of a conversation in order; the newest `limit` when given. */
  turns(id: string, limit?: number): Turn[] {
    if (limit === undefined)
      return this.db
        .query("SELECT seq, role, text, model, tokens, ms, cell, at FROM turns WHERE conversation = ? ORDER BY seq")
        .all(id) as Turn[];
    const rows = this.db
      .query("SELECT seq, role, text, model, tokens, ms, cell, at FROM turns WHERE conversation = ? ORDER BY seq DESC LIMIT ?")
      .all(id, limit) as Turn[];
    return rows.reverse();
  }

  /** Append a question and its answer to conversation `id`, creating it when new. */
  append(id: string, x: Exchange): void {
    this.db.transaction(() => {
      const had = this.get(id);
      if (!had) {
        this.db
          .query("INSERT INTO conversations (id, title, model, cell, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
          .run(id, titleOf(x.question), x.model, x.cell, x.asked_at, x.answered_at);
      } else {
        this.db.query("UPDATE conversations SET model = ?, cell = ?, updated_at = ? WHERE id = ?").run(x.model, x.cell, x.answered_at, id);
      }
      const { next } = this.db.query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM turns WHERE conversation = ?").get(id) as {
        next: number;
      };
      const ins = this.db.query(
        "INSERT INTO turns (conversation, seq, role, text, model, tokens, ms, cell, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      ins.run(id, next, "user", x.question, null, null, null, null, x.asked_at);
      ins.run(id, next + 1, "assistant", x.answer, x.model, x.tokens, Math.round(x.ms), x.cell, x.answered_at);
    })();
  }
}
