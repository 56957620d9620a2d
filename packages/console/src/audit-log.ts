export interface AuditEntry {
  readonly at: string;
  /** `token`, `session` or `anonymous`. */
  readonly actor: string;
  /** `POST /api/locks/:key/release`-style route of the action. */
  readonly action: string;
  /** What it touched (`lock orders:42`). */
  readonly target: string;
  readonly outcome: 'ok' | 'refused' | 'failed';
  /** The operator's reason, when the page asked for one. */
  readonly reason?: string;
  /** Why it was refused or failed, or what it did. */
  readonly detail?: string;
}

/** In-memory, bounded audit log of mutating actions, newest last (exposed at `/api/audit`). */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(readonly limit = 1000) {}

  record(entry: Omit<AuditEntry, 'at'>): AuditEntry {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    this.#entries.push(full);
    if (this.#entries.length > this.limit) this.#entries.shift();
    for (const l of this.#listeners) l(full);
    return full;
  }

  entries(): readonly AuditEntry[] {
    return [...this.#entries];
  }

  /** Called with every new entry (to forward it to a durable log). */
  subscribe(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
