// Routes (stateful-route): a service's pods live over SSE (state, lease, links, load, drain
// progress), uid lookup (owner, epoch, verdict, where a claim would go), drain / activate.
import { ApiError, get, guarded, mutate, subscribe } from '../api.js';
import { el, ms, table, toast } from '../dom.js';

const enc = encodeURIComponent;

export async function render(root, { session, params }) {
  const status = el('p', { id: 'routes-status', class: 'muted' }, 'Loading…');
  const select = el('select', { id: 'routes-service', 'aria-label': 'service' });
  const pods = el('div', { id: 'routes-pods' });
  const pick = el('p', { id: 'routes-next-pick', class: 'muted' });
  const ns = el('input', { id: 'routes-namespace', value: 'default', size: 12, 'aria-label': 'namespace' });
  const uid = el('input', { id: 'routes-uid', placeholder: 'user id', size: 24, 'aria-label': 'uid' });
  const fieldError = el('p', { id: 'routes-lookup-error', class: 'error', hidden: true });
  const user = el('div', { id: 'routes-user' });
  const lookup = el(
    'form',
    { id: 'routes-lookup', class: 'toolbar', onsubmit: (e) => e.preventDefault() },
    'Look up a uid:',
    ns,
    uid,
    el('button', { type: 'submit', id: 'routes-lookup-go' }, 'Look up'),
  );
  root.append(
    el('h1', {}, 'Routes'),
    el('div', { class: 'toolbar' }, 'Service:', select, status),
    pods,
    pick,
    el('h2', {}, 'Users'),
    lookup,
    fieldError,
    user,
  );

  const { services, store } = await get('/api/routes/services');
  const service = params[0] && services.includes(params[0]) ? params[0] : services[0];
  select.replaceChildren(...services.map((s) => el('option', { value: s, selected: s === service }, s)));
  select.addEventListener('change', () => {
    location.hash = `#/routes/${enc(select.value)}`;
  });

  lookup.addEventListener(
    'submit',
    guarded(async () => {
      fieldError.hidden = true;
      if (uid.value === '') {
        fieldError.textContent = 'uid must not be empty';
        fieldError.hidden = false;
        return;
      }
      try {
        const body = await get(`/api/routes/users/${enc(uid.value)}?namespace=${enc(ns.value)}`);
        showUser(body);
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) {
          fieldError.textContent = error.message;
          fieldError.hidden = false;
          user.replaceChildren();
          return;
        }
        throw error;
      }
    }),
  );

  function showUser(body) {
    const linked = body.services.filter((s) => s.link);
    user.replaceChildren(
      body.services.length === 0
        ? el('p', { class: 'muted' }, 'No services have pods.')
        : table(
            [
              'SERVICE',
              'OWNER POD',
              'EPOCH',
              'VALID',
              'VERDICT',
              'RELEASED',
              'A NEW CLAIM WOULD PICK',
              'MOVES SEEN',
            ],
            body.services.map((s) => [
              s.service,
              s.link ? s.link.pod : el('span', { class: 'muted' }, '(no link)'),
              s.link ? s.link.epoch : '',
              s.link ? (s.link.valid ? 'yes' : 'no') : '',
              s.link ? s.link.verdict : '',
              s.link?.released ? `yes (${ms(s.link.persistLeft)} left)` : '',
              s.nextPick ? pickText(s.nextPick) : el('span', { class: 'muted' }, 'keeps its pod'),
              historyCell(s.history),
            ]),
            (i) => ({ dataset: { service: body.services[i].service } }),
          ),
      el(
        'p',
        { class: 'muted' },
        `${body.uid} in namespace ${body.namespace}: linked in ${linked.length} of ${body.services.length} service(s). ` +
          'Moves seen: those made by route clients in the console’s own process (the store keeps only the current link).',
      ),
    );
  }

  function historyCell(history) {
    if (history.length === 0) return el('span', { class: 'muted' }, 'none seen');
    return el(
      'ol',
      { class: 'route-history' },
      history.map((h) =>
        el(
          'li',
          {},
          `${new Date(h.at).toLocaleTimeString()} `,
          h.kind === 'moved' ? `moved ${h.from} → ${h.pod} (${h.reason})` : `placed on ${h.pod}`,
        ),
      ),
    );
  }

  function pickText(p) {
    if (p.pods.length === 0) return 'nobody: no pod takes new users (NO_AVAILABLE_INSTANCE)';
    return `${p.pods.join(' or ')} (${p.strategy}, cost ${p.cost.toFixed(2)})`;
  }

  function actions(listing, p) {
    const can = !session.readOnly && p.controllable;
    const why = session.readOnly
      ? 'the console is read-only'
      : p.controllable
        ? undefined
        : 'this console holds no RouteServer for this pod: drain it in its process';
    const button = (label, state, move, danger) =>
      el(
        'button',
        {
          type: 'button',
          class: danger ? 'danger' : '',
          disabled: !can,
          title: why,
          dataset: { action: `${state}${move ? '-move' : ''}` },
          onclick: guarded(async () => {
            const body = move ? { state, move } : { state };
            const path = `/api/routes/services/${enc(listing.service)}/pods/${enc(p.pod)}/state`;
            const done = await mutate(path, body);
            if (done) toast(`${p.pod}: ${done.pod.state}${done.pod.move ? ' + move' : ''}`);
          }),
        },
        label,
      );
    if (p.state === 'NORMAL') {
      return [button('Drain', 'DRAINING', false, true), button('Drain + move users', 'DRAINING', true, true)];
    }
    const list = [button('Activate', 'NORMAL', false, false)];
    if (p.state === 'DRAINING' && !p.move) list.push(button('Move users', 'DRAINING', true, true));
    return list;
  }

  function stateCell(p) {
    const label = `${p.state}${p.move ? ' + move' : ''}`;
    const parts = [el('span', { class: `route-state state-${p.state}`, dataset: { state: p.state } }, label)];
    if (p.drain) {
      const moved = Math.max(0, p.drain.linksAtStart - p.links);
      parts.push(
        el('br'),
        el('progress', { max: Math.max(1, p.drain.linksAtStart), value: moved }),
        el('span', { class: 'muted drain-left' }, ` ${p.links} of ${p.drain.linksAtStart} links left`),
      );
    }
    return el('span', {}, ...parts);
  }

  let lastGood;
  function showPods(listing) {
    if (listing.error) {
      const since = lastGood ? ` (the table is from ${lastGood}, not live)` : '';
      status.textContent = `${listing.error.error}: ${listing.error.message}${since}`;
      status.className = 'error';
      pods.classList.add('stale');
      return;
    }
    lastGood = new Date(listing.listedAt).toLocaleTimeString();
    pods.classList.remove('stale');
    status.textContent = `${listing.store} store · updated ${lastGood}`;
    status.className = 'muted';
    const note =
      listing.controllable || session.readOnly
        ? []
        : [
            el(
              'p',
              { class: 'muted' },
              'Drain / activate need the pod’s RouteServer in this console (routes.servers): a pod publishes its own routing state.',
            ),
          ];
    pods.replaceChildren(
      listing.pods.length === 0
        ? el('p', { class: 'muted' }, `No pods of ${listing.service}.`)
        : table(
            [
              'POD',
              'ADDRESS',
              'STATE',
              'EPOCH',
              'LEASE LEFT OF TTL',
              'LINKS',
              'LOAD',
              'CAPACITY',
              'COST',
              'LIVENESS',
              '',
            ],
            listing.pods.map((p) => [
              p.pod,
              p.address ?? el('span', { class: 'muted' }, '—'),
              stateCell(p),
              p.epoch,
              p.live ? `${ms(p.leaseLeft)} of ${ms(p.ttl)}` : `expired (TTL ${ms(p.ttl)})`,
              el('span', { class: 'route-links' }, p.links),
              p.load,
              p.capacity,
              p.cost.toFixed(2),
              el('span', { class: p.live ? 'health-passing' : 'health-critical' }, p.live ? 'live' : 'dead'),
              el('span', { class: 'toolbar' }, ...actions(listing, p)),
            ]),
            (i) => ({ dataset: { pod: listing.pods[i].pod, state: listing.pods[i].state } }),
          ),
      ...note,
    );
    pick.textContent = `A new user of ${listing.service} would go to: ${pickText(listing.nextPick)}`;
  }

  if (!service) {
    status.textContent = `${store} store: no services with pods yet.`;
    return undefined;
  }
  try {
    showPods(await get(`/api/routes/services/${enc(service)}/pods`));
  } catch (error) {
    showPods({ error: error.body ?? { error: 'ERROR', message: error.message } });
  }
  return subscribe(`/api/routes/services/${enc(service)}/events`, showPods);
}
