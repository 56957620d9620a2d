// Config page helpers shared by its files: formatting and the side-by-side diff table.
import { ApiError } from '../api.js';
import { el, table } from '../dom.js';

export const enc = encodeURIComponent;
export const when = (t) =>
  typeof t === 'number' ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '';
export const show = (v) => (v === undefined ? '' : JSON.stringify(v));

export function diffCount(d) {
  if (!d) return 'first release';
  const n = (o) => Object.keys(o).length;
  const total = n(d.added) + n(d.changed) + n(d.removed);
  return total === 0 ? 'no change' : `+${n(d.added)} ~${n(d.changed)} -${n(d.removed)}`;
}

/** A side-by-side diff: item | left | right, coloured by kind. */
export function diffTable(d, left, right, id) {
  const rows = [
    ...Object.entries(d.changed).map(([k, v]) => ['diff-chg', k, show(v.from), show(v.to)]),
    ...Object.entries(d.added).map(([k, v]) => ['diff-add', k, '', show(v)]),
    ...Object.entries(d.removed).map(([k, v]) => ['diff-del', k, show(v), '']),
  ];
  if (rows.length === 0)
    return el('p', { class: 'muted', id }, `No difference between ${left} and ${right}.`);
  return el(
    'div',
    { id },
    table(
      ['ITEM', left, right],
      rows.map(([, k, a, b]) => [el('code', {}, k), a, b]),
      (i) => ({ class: rows[i][0] }),
    ),
  );
}

export function errorText(error) {
  const field = error instanceof ApiError ? error.body?.field : undefined;
  return field ? `${field}: ${error.message}` : error.message;
}
