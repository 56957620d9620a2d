import { randomUUID } from 'node:crypto';
import { formatDuration, parseDuration } from './duration.js';
import { HttpError } from './http-error.js';
import { deleteKeys } from './kv.js';
import { type ConsulState, SERF_CHECK, type SessionRecord } from './state.js';

export interface SessionOptions {
  /** Smallest session TTL accepted (Consul: 10 s). */
  minSessionTtl: number;
  /** Consul invalidates a session only after TTL × 2 (its `sessionTTLMultiplier`). */
  ttlMultiplier: number;
}

/** Sessions: create/renew/destroy/info/list, TTL invalidation, release/delete behaviour, lock-delay. */
export class Sessions {
  readonly #state: ConsulState;
  readonly #opts: SessionOptions;

  constructor(state: ConsulState, opts: SessionOptions) {
    this.#state = state;
    this.#opts = opts;
  }

  create(body: Record<string, unknown>): { ID: string } {
    const s = this.#state;
    const ttlText = typeof body.TTL === 'string' ? body.TTL : '';
    const ttlMs = ttlText ? parseDuration(ttlText) : undefined;
    if (ttlText && (ttlMs === undefined || ttlMs < this.#opts.minSessionTtl || ttlMs > 86_400_000)) {
      throw new HttpError(
        400,
        `Invalid Session TTL '${ttlText}', must be between [${formatDuration(this.#opts.minSessionTtl)}=24h0m0s]`,
      );
    }
    const behavior = (body.Behavior as string) || 'release';
    if (behavior !== 'release' && behavior !== 'delete')
      throw new HttpError(400, `Invalid Behavior setting '${behavior}'`);
    const lockDelayRaw = body.LockDelay;
    const lockDelayMs =
      typeof lockDelayRaw === 'number'
        ? lockDelayRaw / 1e6
        : parseDuration((lockDelayRaw as string) || '15s');
    if (lockDelayMs === undefined) throw new HttpError(400, 'Invalid LockDelay');
    const nodeChecks = Array.isArray(body.NodeChecks)
      ? (body.NodeChecks as string[])
      : Array.isArray(body.Checks)
        ? (body.Checks as string[])
        : [SERF_CHECK];
    const serviceChecks = Array.isArray(body.ServiceChecks) ? (body.ServiceChecks as { ID: string }[]) : [];
    for (const id of [...nodeChecks, ...serviceChecks.map((c) => c.ID)]) {
      if (id === SERF_CHECK) continue;
      const c = s.checks.get(id);
      if (!c) throw new HttpError(500, `Missing check '${id}' registration`);
      if (c.Status === 'critical') throw new HttpError(500, `Check '${id}' is in critical state`);
    }
    const idx = s.nextIndex();
    const rec: SessionRecord = {
      ID: randomUUID(),
      Name: (body.Name as string) ?? '',
      Node: (body.Node as string) || s.node.Node,
      LockDelay: Math.round(lockDelayMs * 1e6),
      Behavior: behavior,
      TTL: ttlText,
      NodeChecks: nodeChecks,
      ServiceChecks: serviceChecks.map((c) => ({ ID: c.ID, Namespace: '' })),
      CreateIndex: idx,
      ModifyIndex: idx,
      ttlMs,
    };
    s.sessions.set(rec.ID, rec);
    s.sessionIndex = idx;
    this.#armTtl(rec);
    s.changed();
    return { ID: rec.ID };
  }

  renew(id: string): unknown[] {
    const rec = this.#state.sessions.get(id);
    if (!rec) throw new HttpError(404, `Session id '${id}' not found`);
    this.#armTtl(rec);
    return [sessionJson(rec)];
  }

  destroy(id: string): boolean {
    if (this.#state.sessions.has(id)) this.invalidate(id);
    return true;
  }

  info(id: string): unknown[] {
    const rec = this.#state.sessions.get(id);
    return rec ? [sessionJson(rec)] : [];
  }

  list(): unknown[] {
    return [...this.#state.sessions.values()].map(sessionJson);
  }

  /** Invalidates sessions bound to a check of `node` that turned critical. */
  onCheckCritical(node: string, checkId: string): void {
    for (const rec of [...this.#state.sessions.values()]) {
      if (rec.Node !== node) continue;
      if (rec.NodeChecks.includes(checkId) || rec.ServiceChecks.some((c) => c.ID === checkId))
        this.invalidate(rec.ID);
    }
  }

  /** Ends a session: releases (with lock-delay) or deletes the keys it holds. */
  invalidate(id: string): void {
    const s = this.#state;
    const rec = s.sessions.get(id);
    if (!rec) return;
    clearTimeout(rec.timer);
    s.sessions.delete(id);
    const held = [...s.kv.values()].filter((e) => e.Session === id);
    if (rec.Behavior === 'delete' && held.length > 0) {
      deleteKeys(
        s,
        held.map((e) => e.Key),
      );
    } else if (held.length > 0) {
      const idx = s.nextIndex();
      for (const e of held) {
        e.Session = undefined;
        e.ModifyIndex = idx;
      }
      s.kvIndex = idx;
    }
    const delayMs = rec.LockDelay / 1e6;
    if (delayMs > 0) for (const e of held) s.lockDelays.set(e.Key, Date.now() + delayMs);
    s.sessionIndex = s.nextIndex();
    s.changed();
  }

  #armTtl(rec: SessionRecord): void {
    if (rec.ttlMs === undefined) return;
    clearTimeout(rec.timer);
    rec.timer = setTimeout(() => this.invalidate(rec.ID), rec.ttlMs * this.#opts.ttlMultiplier);
    rec.timer.unref();
  }
}

function sessionJson(r: SessionRecord): Record<string, unknown> {
  return {
    ID: r.ID,
    Name: r.Name,
    Node: r.Node,
    LockDelay: r.LockDelay,
    Behavior: r.Behavior,
    TTL: r.TTL,
    NodeChecks: r.NodeChecks,
    ServiceChecks: r.ServiceChecks,
    CreateIndex: r.CreateIndex,
    ModifyIndex: r.ModifyIndex,
  };
}
