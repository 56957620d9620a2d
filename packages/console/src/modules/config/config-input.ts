import { isDeepStrictEqual } from 'node:util';
import type { GrayRule, ItemsDiff, NamespaceRef } from '@switchyard/config-center';
import type { ConsoleRequest } from '../../console-module.js';
import { badRequest, HttpError } from '../../http/http-error.js';

/** What `ConfigAdmin` shows instead of a secret (its `MASK`; a type-only import cannot carry it). */
export const MASK = '******';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const AUDIT_ACTIONS = new Set([
  'publish',
  'rollback',
  'auto-rollback',
  'gray:start',
  'gray:promote',
  'gray:abort',
  'lock',
  'unlock',
  'propose',
  'approve',
  'reject',
  'reencrypt',
]);

export function name(field: string, v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw badRequest(field, `must match ${NAME.source}`);
  return v;
}

/** `/api/config/ns/:env/:cluster/:namespace…` → the admin's ref (the cluster is a path segment, so a
 * confirmation token is bound to it). */
export function refOf(req: ConsoleRequest): Required<NamespaceRef> {
  return {
    env: name('env', req.params['env']),
    cluster: name('cluster', req.params['cluster']),
    namespace: name('namespace', req.params['namespace']),
  };
}

export const refText = (r: Required<NamespaceRef>) => `${r.env}/${r.cluster}/${r.namespace}`;

/** Who the release and the config center's audit name: the operator's `author`, else the console actor. */
export function authorOf(req: ConsoleRequest): string {
  const a = req.body['author'];
  if (a === undefined || a === '') return `console:${req.actor}`;
  if (typeof a !== 'string' || a.trim() === '' || a.length > 64) {
    throw badRequest('author', 'must be a name of 1..64 characters or omitted');
  }
  return `${a.trim()} (console:${req.actor})`;
}

export function notesOf(req: ConsoleRequest, required: boolean): string | undefined {
  const n = req.body['notes'];
  if (n === undefined || n === '') {
    if (required) throw badRequest('notes', 'are required: say what this release changes and why');
    return undefined;
  }
  if (typeof n !== 'string' || n.trim() === '' || n.length > 2000) {
    throw badRequest('notes', 'must be text of 1..2000 characters');
  }
  return n.trim();
}

export function intOf(v: unknown, field: string, min: number): number {
  const n = typeof v === 'string' && v !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw badRequest(field, `must be an integer ≥ ${min}`);
  }
  return n;
}

/** The editor's JSON items: a plain object; a masked secret cannot be published back. */
export function itemsOf(v: unknown, field = 'items'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest(field, 'must be a JSON object of item → value');
  }
  for (const [k, value] of Object.entries(v)) {
    if (k === '' || k.length > 256) throw badRequest(`${field}.${k}`, 'item names are 1..256 characters');
    if (value === MASK) {
      throw badRequest(
        `${field}.${k}`,
        'is the masked value of a secret: type the real value (the console never reads secrets)',
      );
    }
  }
  return v as Record<string, unknown>;
}

export function ruleOf(v: unknown): GrayRule {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest('rule', 'must be { percentage?, labels?, instances?, ips? }');
  }
  const r = v as Record<string, unknown>;
  const rule: GrayRule = {};
  for (const k of Object.keys(r)) {
    if (!['percentage', 'labels', 'instances', 'ips'].includes(k)) {
      throw badRequest(`rule.${k}`, 'is not a gray rule field (percentage, labels, instances, ips)');
    }
  }
  if (r['percentage'] !== undefined) {
    const p = r['percentage'];
    if (typeof p !== 'number' || !(p >= 0 && p <= 100)) throw badRequest('rule.percentage', 'must be 0..100');
    rule.percentage = p;
  }
  if (r['labels'] !== undefined) {
    const l = r['labels'];
    if (
      typeof l !== 'object' ||
      l === null ||
      Array.isArray(l) ||
      Object.entries(l).some(([k, x]) => k === '' || typeof x !== 'string')
    ) {
      throw badRequest('rule.labels', 'must be an object of label → string');
    }
    if (Object.keys(l).length > 0) rule.labels = l as Record<string, string>;
  }
  for (const k of ['instances', 'ips'] as const) {
    const list = r[k];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === '')) {
      throw badRequest(`rule.${k}`, 'must be an array of non-empty strings');
    }
    if (list.length > 0) rule[k] = list as string[];
  }
  if (rule.percentage === undefined && !rule.labels && !rule.instances && !rule.ips) {
    throw badRequest('rule', 'must give a percentage, labels, instances or ips');
  }
  return rule;
}

export function ruleText(rule: GrayRule): string {
  const parts: string[] = [];
  if (rule.percentage !== undefined) parts.push(`${rule.percentage}% of instances`);
  if (rule.labels)
    parts.push(
      `labels ${Object.entries(rule.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
    );
  if (rule.instances) parts.push(`instances ${rule.instances.join(',')}`);
  if (rule.ips) parts.push(`ips ${rule.ips.join(',')}`);
  return parts.join(' or ');
}

export function auditAction(v: string | null): string | undefined {
  if (v === null || v === '') return undefined;
  if (!AUDIT_ACTIONS.has(v)) throw badRequest('action', `must be one of ${[...AUDIT_ACTIONS].join(', ')}`);
  return v;
}

/** A schema verdict from `admin.preview` as the 400 the page shows under the item. */
export function schemaError(issues: readonly string[]): HttpError {
  const first = issues[0] ?? 'invalid';
  const path = first.includes(':') ? first.slice(0, first.indexOf(':')) : '';
  const field = path ? `items.${path}` : 'items';
  return new HttpError(400, 'INVALID_ARGUMENT', `${field} fails the schema: ${issues.join('; ')}`, {
    field,
    issues,
  });
}

/**
 * The diff of masked views (used where the admin has no call for it: gray overlays). A masked
 * secret among `touched` (the overlay's items) counts as changed: the mask hides whether it is.
 */
export function diffViews(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  touched: readonly string[] = [],
): ItemsDiff {
  const d: ItemsDiff = { added: {}, removed: {}, changed: {} };
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) d.added[k] = v;
    else if (!isDeepStrictEqual(from[k], v) || (v === MASK && touched.includes(k))) {
      d.changed[k] = { from: from[k], to: v };
    }
  }
  for (const [k, v] of Object.entries(from)) if (!(k in to)) d.removed[k] = v;
  return d;
}

export function diffCounts(d: ItemsDiff): string {
  const n = (o: object) => Object.keys(o).length;
  const total = n(d.added) + n(d.changed) + n(d.removed);
  return total === 0
    ? 'no item changes'
    : `${n(d.added)} added, ${n(d.changed)} changed, ${n(d.removed)} removed`;
}

export const conflict = (field: string, message: string) =>
  new HttpError(409, 'CONFLICT', message, { field });
