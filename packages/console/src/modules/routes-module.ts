import {
  assertInstanceId,
  assertKey,
  assertServiceName,
  type DiscoveryBackend,
  type InstanceHealth,
} from '@switchyard/core';
import type { PodListing, PodRecord, RouteStore, RoutingState } from '@switchyard/stateful-route';
import type { ConsoleModule, ConsoleRequest, ConsoleRoute } from '../console-module.js';
import { PKG } from '../console-options.js';
import { badRequest, errorReply, HttpError, notFound } from '../http/http-error.js';
import { MoveHistory } from './routes/move-history.js';
import {
  acceptsNewUsers,
  judgeLink,
  nextPick,
  placementCost,
  ROUTING_STATES,
  stateEffect,
} from './routes/route-rules.js';
import {
  normaliseRoutesOption,
  type RoutePodControl,
  type RoutesPageOptions,
} from './routes/routes-options.js';

const ALL_HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];
/** How often an open Routes page's stream relists the pods (link counts and leases change without notices). */
const POLL_MS = 1_000;

/** A pod row as the page shows it. */
export interface PodRow {
  readonly pod: string;
  /** `address:port` from the console's discovery (pod id = instance id); null when unknown. */
  readonly address: string | null;
  readonly epoch: number;
  readonly state: RoutingState;
  readonly move: boolean;
  readonly load: number;
  readonly capacity: number;
  readonly ttl: number;
  /** ms until the lease deadline (store clock); ≤ 0 once dead. */
  readonly leaseLeft: number;
  readonly live: boolean;
  readonly links: number;
  readonly acceptsNewUsers: boolean;
  readonly cost: number;
  /** This console holds the pod's RouteServer (drain / activate available). */
  readonly controllable: boolean;
  /** Set while DRAINING: when this console first saw it drain and the links it had then. */
  readonly drain?: { readonly since: string; readonly linksAtStart: number };
}

/** The Routes page: pods of a service with state, lease, links and load; uid lookup; drain / activate. */
export function routesModule(
  option: RouteStore | RoutesPageOptions,
  discovery?: DiscoveryBackend,
): ConsoleModule {
  const { store, servers } = normaliseRoutesOption(option);
  const drains = new Map<string, { epoch: number; since: string; linksAtStart: number }>();
  const history = new MoveHistory();
  const control = (service: string, pod: string): RoutePodControl | undefined =>
    servers.find((s) => s.service === service && s.pod === pod);

  const serviceOf = (req: ConsoleRequest) => assertServiceName(PKG, 'service', req.params['service']);
  const podOf = (req: ConsoleRequest) => assertInstanceId(PKG, 'pod', req.params['pod']);
  const namespaceOf = (req: ConsoleRequest) =>
    assertServiceName(PKG, 'namespace', req.query.get('namespace') ?? 'default');

  const addresses = async (service: string, signal: AbortSignal): Promise<Map<string, string>> => {
    if (!discovery) return new Map();
    try {
      const snap = await discovery.resolve(service, { filter: { health: ALL_HEALTH }, signal });
      return new Map(snap.instances.map((i) => [i.id, `${i.address}:${i.port}`]));
    } catch {
      return new Map(); // the address column is a convenience: a discovery outage must not hide the pods
    }
  };

  const track = (service: string, p: PodRecord) => {
    const key = `${service}\u0000${p.pod}`;
    const known = drains.get(key);
    if (p.state !== 'DRAINING') return void drains.delete(key);
    if (known?.epoch === p.epoch) return known;
    const entry = { epoch: p.epoch, since: new Date().toISOString(), linksAtStart: p.links };
    drains.set(key, entry);
    return entry;
  };

  const row = (service: string, p: PodRecord, now: number, address: string | undefined): PodRow => {
    const d = track(service, p);
    return {
      pod: p.pod,
      address: address ?? null,
      epoch: p.epoch,
      state: p.state,
      move: p.move,
      load: p.load,
      capacity: p.capacity,
      ttl: p.ttl,
      leaseLeft: p.deadline - now,
      live: p.deadline > now,
      links: p.links,
      acceptsNewUsers: acceptsNewUsers(p, now),
      cost: placementCost(p),
      controllable: control(service, p.pod) !== undefined,
      ...(d ? { drain: { since: d.since, linksAtStart: d.linksAtStart } } : {}),
    };
  };

  const listing = async (service: string, signal: AbortSignal) => {
    const [l, addr] = await Promise.all([store.listPods(service, signal), addresses(service, signal)]);
    const pods = [...l.pods].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
    return {
      service,
      store: store.name,
      now: l.now,
      listedAt: new Date().toISOString(),
      pods: pods.map((p) => row(service, p, l.now, addr.get(p.pod))),
      nextPick: nextPick(pods, l.now),
      controllable: servers.some((s) => s.service === service),
    };
  };

  const linkOf = async (namespace: string, service: string, uid: string, signal: AbortSignal) => {
    const [[link], l] = await Promise.all([
      store.getLinks(namespace, service, [uid], signal),
      store.listPods(service, signal) as Promise<PodListing>,
    ]);
    const pick = nextPick(l.pods, l.now);
    const moves = history.of(namespace, service, uid);
    if (!link) return { service, link: null, nextPick: pick, history: moves };
    const pod = l.pods.find((p) => p.pod === link.pod);
    const verdict = judgeLink(link, pod, l.now);
    return {
      service,
      link: {
        pod: link.pod,
        epoch: link.epoch,
        /** The store's verdict (authoritative); `verdict` explains it against the pod's lease. */
        valid: link.valid,
        verdict,
        released: link.till !== 0,
        persistLeft: link.till === 0 ? null : link.till - l.now,
        podState: pod?.state ?? null,
        podEpoch: pod?.epoch ?? null,
      },
      // What the next request would do when the link is not kept: a claim places the user anew.
      nextPick: link.valid && verdict === 'ok' && link.till === 0 ? null : pick,
      history: moves,
    };
  };

  const stateBody = (req: ConsoleRequest): { state: RoutingState; move: boolean } => {
    const state = req.body['state'];
    if (!ROUTING_STATES.includes(state as RoutingState)) {
      throw badRequest('state', `must be one of ${ROUTING_STATES.join(', ')}`);
    }
    const move = req.body['move'];
    if (move !== undefined && typeof move !== 'boolean') throw badRequest('move', 'must be true or false');
    if (move === true && state !== 'DRAINING') throw badRequest('move', 'applies only to DRAINING');
    return { state: state as RoutingState, move: move === true };
  };

  const podNow = async (service: string, pod: string, signal: AbortSignal) => {
    const l = await store.listPods(service, signal);
    const p = l.pods.find((x) => x.pod === pod);
    if (!p) throw notFound(`pod "${pod}" of service "${service}"`);
    return { l, p };
  };

  const needControl = (service: string, pod: string): RoutePodControl => {
    const c = control(service, pod);
    if (!c) {
      throw new HttpError(
        409,
        'NO_POD_CONTROL',
        `pod "${pod}" publishes its own routing state and this console holds no RouteServer for it ` +
          '(give it in routes.servers, or call drain() in the pod): a store write would be undone by its next heartbeat',
      );
    }
    return c;
  };

  const routes: ConsoleRoute[] = [
    {
      method: 'GET',
      pattern: '/api/routes/services',
      async handle(req) {
        const services = (await store.services(req.signal)).sort();
        return {
          services,
          store: store.name,
          controllable: servers.map((s) => ({ service: s.service, pod: s.pod })),
        };
      },
    },
    {
      method: 'GET',
      pattern: '/api/routes/services/:service/pods',
      handle: (req) => listing(serviceOf(req), req.signal),
    },
    {
      method: 'GET',
      pattern: '/api/routes/services/:service/events',
      async stream(req, send) {
        const service = serviceOf(req);
        let running: Promise<void> | undefined;
        let again = false;
        const push = (): Promise<void> => {
          if (running) {
            again = true;
            return running;
          }
          running = (async () => {
            do {
              again = false;
              try {
                send(await listing(service, req.signal));
              } catch (error) {
                if (req.signal.aborted) return;
                send({ service, error: errorReply(error).toJSON() });
              }
            } while (again && !req.signal.aborted);
          })().finally(() => {
            running = undefined;
          });
          return running;
        };
        const off = store.onChange((c) => {
          if (c.kind === 'resync' || (c.kind === 'pod' && c.service === service)) void push();
        });
        const timer = setInterval(() => void push(), POLL_MS);
        try {
          await push();
          await new Promise<void>((resolve) => {
            if (req.signal.aborted) return resolve();
            req.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        } finally {
          clearInterval(timer);
          off();
          await running;
        }
      },
    },
    {
      method: 'GET',
      pattern: '/api/routes/users/:uid',
      async handle(req) {
        const uid = assertKey(PKG, 'uid', req.params['uid'], 512);
        const namespace = namespaceOf(req);
        const only = req.query.get('service');
        const services = only
          ? [assertServiceName(PKG, 'service', only)]
          : (await store.services(req.signal)).sort();
        const results = await Promise.all(services.map((s) => linkOf(namespace, s, uid, req.signal)));
        return { uid, namespace, services: results };
      },
    },
    {
      method: 'POST',
      pattern: '/api/routes/services/:service/pods/:pod/state',
      mutation: {
        target: (req) => {
          const { state, move } = stateBody(req);
          return `set pod ${req.params['pod']} of ${req.params['service']} to ${state}${move ? ' (move users)' : ''}`;
        },
        async preview(req) {
          const service = serviceOf(req);
          const pod = podOf(req);
          const { state, move } = stateBody(req);
          needControl(service, pod);
          const { l, p } = await podNow(service, pod, req.signal);
          const others = l.pods
            .filter((x) => x.pod !== pod && acceptsNewUsers(x, l.now))
            .map((x) => x.pod)
            .sort();
          const stopsNew = state !== 'NORMAL';
          const warning =
            stopsNew && others.length === 0 && acceptsNewUsers(p, l.now)
              ? ` WARNING: no other pod of ${service} takes new users: new users get NO_AVAILABLE_INSTANCE`
              : '';
          return {
            summary: `${p.state === state && p.move === move ? 'No change: ' : ''}Pod ${pod} of ${service} (${p.state}${p.move ? ' + move' : ''} → ${state}${move ? ' + move' : ''}) ${stateEffect(state, move, p.links)}.${warning}`,
            details: {
              service,
              pod,
              epoch: p.epoch,
              before: { state: p.state, move: p.move },
              after: { state, move },
              links: p.links,
              newUsersGoTo: stopsNew ? others : [...new Set([...others, pod])].sort(),
            },
          };
        },
      },
      async handle(req) {
        const service = serviceOf(req);
        const pod = podOf(req);
        const { state, move } = stateBody(req);
        const c = needControl(service, pod);
        await c.setRoutingState(state, { move, signal: req.signal });
        const { l, p } = await podNow(service, pod, req.signal);
        if (p.state !== state || p.move !== move) {
          throw new HttpError(
            409,
            'NOT_PUBLISHED',
            `pod "${pod}" still publishes ${p.state}${p.move ? ' + move' : ''} (is its RouteServer started?)`,
          );
        }
        const addr = await addresses(service, req.signal);
        return { pod: row(service, p, l.now, addr.get(pod)) };
      },
    },
  ];
  return { name: 'routes', title: 'Routes', routes, close: () => history.close() };
}
