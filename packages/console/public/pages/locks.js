// Locks: held locks of a lock space (live, one stream per page), the client's stats with wait
// percentiles and histogram, and an audited force-release.
import { get, guarded, mutate, subscribe } from '../api.js';
import { age, el, ms, table, toast } from '../dom.js';

const PAGE = 50;

function pct(p) {
  if (!p) return '—';
  return p.overflow ? `> ${ms(p.ms)}` : ms(p.ms);
}

function bucketLabel(b, prev) {
  if (b.le === null) return `> ${ms(prev)}`;
  return `≤ ${ms(b.le)}`;
}

export async function render(root, { session, params }) {
  const { spaces } = await get('/api/locks');
  const names = spaces.map((s) => s.name);
  const space = names.includes(params[0]) ? params[0] : names[0];
  const info = spaces.find((s) => s.name === space);
  const select = el(
    'select',
    { id: 'lock-space', 'aria-label': 'lock space' },
    names.map((n) => el('option', { value: n, selected: n === space }, n)),
  );
  select.addEventListener('change', () => {
    location.hash = `#/locks/${encodeURIComponent(select.value)}`;
  });
  const prefix = el('input', { type: 'search', placeholder: 'key prefix', id: 'lock-prefix' });
  const prev = el('button', { type: 'button', id: 'lock-prev' }, '‹ Prev');
  const next = el('button', { type: 'button', id: 'lock-next' }, 'Next ›');
  const status = el('span', { class: 'muted', id: 'lock-status' }, 'connecting…');
  const statsBox = el('div', { id: 'lock-stats' });
  const heldBox = el('div', { id: 'lock-held' });
  root.append(
    el('h1', {}, 'Locks'),
    el(
      'div',
      { class: 'toolbar' },
      names.length > 1 ? el('label', {}, 'Lock space ', select) : el('span', {}, `Lock space ${space}`),
      el('span', { class: 'muted' }, `${info.backend}${info.capabilities.fair ? ', fair' : ''}`),
      prefix,
      prev,
      next,
      status,
    ),
    el('h2', {}, 'Held locks'),
    heldBox,
    el('h2', {}, 'This client’s stats'),
    statsBox,
  );
  let offset = 0;
  let stop;

  function showHeld(h) {
    const canAct = !session.readOnly;
    heldBox.replaceChildren(
      h.locks.length === 0
        ? el(
            'p',
            { class: 'muted' },
            prefix.value ? `No held lock starts with ${prefix.value}.` : 'No lock is held.',
          )
        : table(
            ['KEY', 'HOLDER', 'TOKEN', 'SEEN FOR', 'TTL LEFT', 'WAITERS', ''],
            h.locks.map((l) => [
              l.key,
              l.owner,
              el('code', {}, l.token),
              age(l.firstSeen),
              ms(l.ttlLeft),
              l.waiters > 0 ? el('strong', {}, String(l.waiters)) : '0',
              el(
                'button',
                {
                  type: 'button',
                  class: 'danger force-release',
                  disabled: !canAct,
                  title: canAct ? 'take the lock from its holder' : 'the console is read-only',
                  onclick: guarded(async () => {
                    const done = await mutate(
                      `/api/locks/${encodeURIComponent(space)}/held/${encodeURIComponent(l.key)}/force-release`,
                      { token: l.token },
                    );
                    if (done)
                      toast(
                        done.released
                          ? `released ${done.key} (was ${done.owner})`
                          : `${done.key} was already free`,
                      );
                  }),
                },
                'Force release',
              ),
            ]),
            (i) => ({ dataset: { key: h.locks[i].key } }),
          ),
      el(
        'p',
        { class: 'muted' },
        h.total === 0
          ? ''
          : `${h.offset + 1}–${h.offset + h.locks.length} of ${h.total} held · updated ${new Date(h.at).toLocaleTimeString()}`,
      ),
    );
    prev.disabled = h.offset === 0;
    next.disabled = h.offset + h.locks.length >= h.total;
  }

  function showStats(s) {
    const counters = [
      ['acquire rate', s.acquireRate === null ? '—' : `${s.acquireRate}/s`],
      ['acquired', s.acquired],
      ['contended', s.contended],
      ['timeouts', s.timedOut],
      ['aborted', s.aborted],
      ['lost', s.lost],
      ['released', s.released],
      ['force-released', s.forceReleased],
      ['held now', s.held],
      ['waiting now', s.waiting],
      ['wait p50', pct(s.wait.p50)],
      ['wait p90', pct(s.wait.p90)],
      ['wait p99', pct(s.wait.p99)],
    ];
    const total = s.waitHistogram.reduce((n, b) => n + b.count, 0);
    let lower = 0;
    const rows = s.waitHistogram.map((b) => {
      const row = [
        bucketLabel(b, lower),
        el('progress', { max: Math.max(total, 1), value: b.count, class: 'hist' }),
        b.count,
      ];
      if (b.le !== null) lower = b.le;
      return row;
    });
    statsBox.replaceChildren(
      el(
        'dl',
        { class: 'stats' },
        counters.map(([k, v]) =>
          el('div', {}, el('dt', {}, k), el('dd', { dataset: { stat: k } }, String(v))),
        ),
      ),
      el('h2', {}, 'Wait time of acquisitions'),
      total === 0 ? el('p', { class: 'muted' }, 'No acquisition yet.') : table(['WAITED', '', 'COUNT'], rows),
      el(
        'p',
        { class: 'muted' },
        'Counters are this lock client’s (the instance the console was given): pass the application’s own instance to see its traffic.',
      ),
    );
  }

  function connect() {
    stop?.();
    const q = new URLSearchParams({ prefix: prefix.value, offset: String(offset), limit: String(PAGE) });
    status.textContent = 'connecting…';
    stop = subscribe(`/api/locks/${encodeURIComponent(space)}/live?${q}`, (e) => {
      if (e.error) {
        status.textContent = `error: ${e.error.message}`;
        status.className = 'error';
        return;
      }
      status.textContent = 'live';
      status.className = 'muted';
      showHeld(e.held);
      showStats(e.stats);
    });
  }

  let timer;
  prefix.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      offset = 0;
      connect();
    }, 250);
  });
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    connect();
  });
  next.addEventListener('click', () => {
    offset += PAGE;
    connect();
  });
  connect();
  return () => {
    clearTimeout(timer);
    stop?.();
  };
}
