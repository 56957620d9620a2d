export interface AuditEntry {
  readonly at: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: 'ok' | 'refused' | 'failed';
}

/** In-memory, bounded audit log of mutating actions (exposed at `/api/audit`). */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];
  constructor(readonly limit = 1000) {}
  record(entry: Omit<AuditEntry, 'at'>): void {
    this.#entries.push({ at: new Date().toISOString(), ...entry });
    if (this.#entries.length > this.limit) this.#entries.shift();
  }
  entries(): readonly AuditEntry[] {
    return [...this.#entries];
  }
}
