// Tiny DOM helpers: every value is rendered with textContent (never innerHTML).

/** el('td', { class: 'x', onclick }, 'text', childNode, …) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A table from column headers and rows of cells (strings or nodes). */
export function table(headers, rows, rowAttrs = () => ({})) {
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((cells, i) =>
        el(
          'tr',
          rowAttrs(i),
          cells.map((c) => el('td', {}, c)),
        ),
      ),
    ),
  );
}

/** `12.3 s`, `450 ms`, `—` for a negative or missing duration. */
export function ms(v) {
  if (typeof v !== 'number' || v < 0) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  return `${(v / 60_000).toFixed(1)} min`;
}

/** How long ago an ISO time was. */
export function age(iso) {
  return ms(Date.now() - Date.parse(iso));
}

export function toast(message, isError = false) {
  const box = document.getElementById('toast');
  const item = el('div', { class: isError ? 'error' : '' }, message);
  box.append(item);
  setTimeout(() => item.remove(), isError ? 8000 : 4000);
}
