import { createMemoryDiscovery } from '@switchyard/core';
import {
  createMemoryRouteStore,
  createRedisRouteStore,
  createRouteClient,
  createRouteServer,
  ROUTING_STATES as PKG_STATES,
  type PodRecord,
  acceptsNewUsers as pkgAccepts,
  placementCost as pkgCost,
  judgeLink as pkgJudge,
  type RouteServer,
  type RouteStore,
} from '@switchyard/stateful-route';
import { eventually } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer } from '../src/index.js';
import {
  acceptsNewUsers,
  judgeLink,
  placementCost,
  ROUTING_STATES,
} from '../src/modules/routes/route-rules.js';
import { consoleClient, readEvents } from './console-client.js';

const TOKEN = 'a-console-token-of-some-length';
const PODS = ['chat-a', 'chat-b', 'chat-c'];

let redis: RedisServer;
let prefixes = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const backends: { name: string; store(): RouteStore }[] = [
  { name: 'memory', store: () => createMemoryRouteStore() },
  {
    name: 'redis',
    store: () =>
      createRedisRouteStore({ url: redis.url, prefix: `console${++prefixes}:`, requestTimeout: 1_000 }),
  },
];

/** Three pods of `chat` (registered in discovery too) and nine users placed by a RouteClient. */
async function fleet(store: RouteStore) {
  const discovery = createMemoryDiscovery();
  const servers: RouteServer[] = [];
  for (const [i, pod] of PODS.entries()) {
    await discovery.register({ id: pod, service: 'chat', address: '10.0.0.1', port: 7000 + i });
    const s = createRouteServer({ store, service: 'chat', pod, heartbeat: 200 });
    await s.start();
    servers.push(s);
  }
  const client = createRouteClient({ store, stateRefreshInterval: 50 });
  const owner = new Map<string, string>();
  for (let n = 1; n <= 9; n++) owner.set(`u${n}`, await client.computeLinkedPod('tenant-1', `u${n}`, 'chat'));
  return {
    discovery,
    servers,
    client,
    owner,
    async [Symbol.asyncDispose]() {
      await client.close();
      for (const s of servers) await s.stop().catch(() => {});
      await discovery.close?.();
    },
  };
}

describe.each(backends)('routes page on the $name store', (backend) => {
  it('lists services and pods with state, epoch, lease, link counts, load and address', async () => {
    await using store = backend.store();
    await using f = await fleet(store);
    await using server = await createConsoleServer({ token: TOKEN, routes: store, discovery: f.discovery });
    expect(server.pages).toContain('routes');
    const c = await consoleClient(server.url).login(TOKEN);
    expect(await (await c.get('/api/routes/services')).json()).toMatchObject({ services: ['chat'] });
    const body = await (await c.get('/api/routes/services/chat/pods')).json();
    expect(body.pods.map((p: { pod: string }) => p.pod)).toEqual(PODS);
    const counts = new Map<string, number>();
    for (const pod of f.owner.values()) counts.set(pod, (counts.get(pod) ?? 0) + 1);
    for (const [i, p] of body.pods.entries()) {
      const srv = f.servers[i]!;
      expect(p).toMatchObject({
        pod: srv.pod,
        address: `10.0.0.1:${7000 + i}`,
        epoch: srv.epoch,
        state: 'NORMAL',
        live: true,
        links: counts.get(srv.pod) ?? 0,
        load: 0,
        acceptsNewUsers: true,
        controllable: false,
      });
      expect(p.leaseLeft).toBeGreaterThan(0);
      expect(p.leaseLeft).toBeLessThanOrEqual(srv.ttl);
    }
    expect(body.pods.reduce((n: number, p: { links: number }) => n + p.links, 0)).toBe(9);
    // Equal counts, equal load: every pod ties for the next user.
    expect(body.nextPick).toMatchObject({ strategy: 'least-loaded', pods: PODS });
    await f.servers[0]!.setLoadState(50);
    const after = await (await c.get('/api/routes/services/chat/pods')).json();
    expect(after.pods[0].load).toBe(50);
    expect(after.nextPick.pods).toEqual(['chat-b', 'chat-c']);
  });

  it('looks up a uid: owner, epoch, verdict, and what a claim would pick when unlinked', async () => {
    await using store = backend.store();
    await using f = await fleet(store);
    await using server = await createConsoleServer({ token: TOKEN, routes: store });
    const c = await consoleClient(server.url).login(TOKEN);
    const pod = f.owner.get('u4')!;
    const srv = f.servers.find((s) => s.pod === pod)!;
    const res = await c.get('/api/routes/users/u4?namespace=tenant-1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      uid: 'u4',
      namespace: 'tenant-1',
      services: [
        {
          service: 'chat',
          link: {
            pod,
            epoch: srv.epoch,
            valid: true,
            verdict: 'ok',
            released: false,
            persistLeft: null,
            podState: 'NORMAL',
            podEpoch: srv.epoch,
          },
          nextPick: null,
          history: [], // placed before this console started listening
        },
      ],
    });
    // Another namespace: no link there; a claim would take any of the three (all tie).
    const other = await (await c.get('/api/routes/users/u4?namespace=tenant-2&service=chat')).json();
    expect(other.services[0]).toMatchObject({ link: null, nextPick: { pods: PODS } });
    // A forbidden owner: the stored link is judged `forbidden`, not valid; the claim avoids the pod.
    await srv.setRoutingState('FORBIDDEN');
    const forbidden = (await (await c.get('/api/routes/users/u4?namespace=tenant-1')).json()).services[0];
    expect(forbidden.link).toMatchObject({ pod, valid: false, verdict: 'forbidden', podState: 'FORBIDDEN' });
    expect(forbidden.nextPick.pods).not.toContain(pod);
    expect(forbidden.nextPick.pods.length).toBeGreaterThan(0);
    // Any characters but NUL: a uid with a slash and a space is looked up, not routed elsewhere.
    await f.client.computeLinkedPod('tenant-1', 'team/7 bob', 'chat');
    const odd = await (
      await c.get(`/api/routes/users/${encodeURIComponent('team/7 bob')}?namespace=tenant-1`)
    ).json();
    expect(odd).toMatchObject({ uid: 'team/7 bob', services: [{ link: { valid: true } }] });
  });

  it('drains through the API (409 → confirm): the store shows DRAINING, new users go elsewhere; move and activate', async () => {
    await using store = backend.store();
    await using f = await fleet(store);
    await using server = await createConsoleServer({
      token: TOKEN,
      readOnly: false,
      routes: { store, servers: f.servers },
    });
    const c = await consoleClient(server.url).login(TOKEN);
    const drained = 'chat-a';
    const users = [...f.owner].filter(([, p]) => p === drained).map(([u]) => u);
    expect(users.length).toBe(3);
    const path = `/api/routes/services/chat/pods/${drained}/state`;
    const events = readEvents(await c.get('/api/routes/services/chat/events'));
    try {
      const first = await events.next();
      expect(first.pods.find((p: { pod: string }) => p.pod === drained)).toMatchObject({
        state: 'NORMAL',
        controllable: true,
      });

      const ask = await c.post(path, { state: 'DRAINING' });
      expect(ask.status).toBe(409);
      const { confirmation } = await ask.json();
      expect(confirmation.summary).toContain(`Pod ${drained} of chat`);
      expect(confirmation.summary).toContain('takes no new users');
      expect(confirmation.summary).toContain('3 linked users stay');
      expect(confirmation.details).toMatchObject({
        pod: drained,
        links: 3,
        before: { state: 'NORMAL', move: false },
        after: { state: 'DRAINING', move: false },
        newUsersGoTo: ['chat-b', 'chat-c'],
      });
      // Nothing changed before the confirmation.
      expect((await store.listPods('chat')).pods.find((p) => p.pod === drained)!.state).toBe('NORMAL');
      const done = await c.post(path, {
        state: 'DRAINING',
        confirm: confirmation.token,
        reason: 'kernel patch',
      });
      expect(done.status).toBe(200);
      expect((await done.json()).pod).toMatchObject({
        pod: drained,
        state: 'DRAINING',
        drain: { linksAtStart: 3 },
      });
      expect((await store.listPods('chat')).pods.find((p) => p.pod === drained)).toMatchObject({
        state: 'DRAINING',
        move: false,
      });
      expect(server.audit.entries().at(-1)).toMatchObject({ outcome: 'ok', reason: 'kernel patch' });
      // The pod's own heartbeats keep publishing DRAINING (the state lives in its RouteServer).
      await new Promise((r) => setTimeout(r, 450));
      expect((await store.listPods('chat')).pods.find((p) => p.pod === drained)!.state).toBe('DRAINING');

      // A RouteClient places no new user there; existing users stay (drain without move).
      await using fresh = createRouteClient({ store });
      for (let n = 0; n < 20; n++)
        expect(await fresh.computeLinkedPod('tenant-1', `new-${n}`, 'chat')).not.toBe(drained);
      for (const u of users) expect(await fresh.computeLinkedPod('tenant-1', u, 'chat')).toBe(drained);

      // Move users: they leave at their next request; the stream shows the count going down.
      const ask2 = await c.post(path, { state: 'DRAINING', move: true });
      const c2 = (await ask2.json()).confirmation;
      expect(c2.summary).toContain('move at their next request');
      expect((await c.post(path, { state: 'DRAINING', move: true, confirm: c2.token })).status).toBe(200);
      await eventually(
        async () => {
          const now = await Promise.all(users.map((u) => f.client.computeLinkedPod('tenant-1', u, 'chat')));
          return now.every((p) => p !== drained);
        },
        3_000,
        "the drained pod's users moved",
      );
      // The moves the client made are the user's history on the lookup.
      const moved = (await (await c.get(`/api/routes/users/${users[0]}?namespace=tenant-1`)).json())
        .services[0];
      expect(moved.link.pod).not.toBe(drained);
      expect(moved.history).toEqual([
        { at: expect.any(String), kind: 'moved', pod: moved.link.pod, from: drained, reason: 'drain' },
      ]);
      const progress = await events.until(
        (e) => e.pods?.find((p: { pod: string }) => p.pod === drained)?.links === 0,
      );
      expect(progress.pods.find((p: { pod: string }) => p.pod === drained)).toMatchObject({
        state: 'DRAINING',
        move: true,
        drain: { linksAtStart: 3 },
      });

      // Activate: NORMAL again, new users may go there.
      const again = (await (await c.post(path, { state: 'DRAINING', move: true })).json()).confirmation;
      expect(again.summary).toMatch(/^No change: Pod chat-a/);
      const ask3 = await c.post(path, { state: 'NORMAL' });
      const c3 = (await ask3.json()).confirmation;
      expect(c3.details.newUsersGoTo).toContain(drained);
      expect((await c.post(path, { state: 'NORMAL', confirm: c3.token })).status).toBe(200);
      expect((await store.listPods('chat')).pods.find((p) => p.pod === drained)!.state).toBe('NORMAL');
      const seen = new Set<string>();
      for (let n = 0; n < 6; n++) seen.add(await fresh.computeLinkedPod('tenant-1', `later-${n}`, 'chat'));
      expect(seen).toContain(drained);
    } finally {
      await events.close();
    }
  });

  it('why drain goes through the RouteServer: a state written into the store is undone by the next heartbeat', async () => {
    await using store = backend.store();
    await using _fleet = await fleet(store);
    const p = (await store.listPods('chat')).pods.find((x) => x.pod === 'chat-a')!;
    const publication = {
      state: 'DRAINING' as const,
      load: p.load,
      capacity: p.capacity,
      ttl: p.ttl,
      move: false,
    };
    expect(await store.heartbeatPod('chat', 'chat-a', p.epoch, publication)).toBe(true);
    expect((await store.listPods('chat')).pods.find((x) => x.pod === 'chat-a')!.state).toBe('DRAINING');
    await eventually(
      async () => (await store.listPods('chat')).pods.find((x) => x.pod === 'chat-a')!.state === 'NORMAL',
      2_000,
      'the pod republished NORMAL',
    );
  });

  it('read-only refuses (403, audited) and changes nothing', async () => {
    await using store = backend.store();
    await using f = await fleet(store);
    await using server = await createConsoleServer({ token: TOKEN, routes: { store, servers: f.servers } });
    const c = await consoleClient(server.url).login(TOKEN);
    const res = await c.post('/api/routes/services/chat/pods/chat-a/state', { state: 'DRAINING' });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe('READ_ONLY');
    expect(server.audit.entries().at(-1)).toMatchObject({ outcome: 'refused' });
    expect((await store.listPods('chat')).pods.every((p) => p.state === 'NORMAL')).toBe(true);
  });

  it('bad input: 400 naming the field; unknown pod 404; a pod without its RouteServer 409', async () => {
    await using store = backend.store();
    await using f = await fleet(store);
    await using server = await createConsoleServer({
      token: TOKEN,
      readOnly: false,
      routes: { store, servers: f.servers.slice(1) },
    });
    const c = await consoleClient(server.url).login(TOKEN);
    const field = async (res: Awaited<ReturnType<typeof c.get>>) => {
      expect(res.status).toBe(400);
      return (await res.json()).field;
    };
    expect(await field(await c.get(`/api/routes/users/${'x'.repeat(600)}`))).toBe('uid');
    expect(await field(await c.get('/api/routes/users/u1?namespace=bad%20ns!'))).toBe('namespace');
    expect(await field(await c.get('/api/routes/users/u1?service=Bad%20Service!'))).toBe('service');
    expect(await field(await c.get('/api/routes/services/bad%20svc/pods'))).toBe('service');
    const state = '/api/routes/services/chat/pods/chat-b/state';
    expect(await field(await c.post(state, { state: 'SLEEPING' }))).toBe('state');
    expect(await field(await c.post(state, { state: 'DRAINING', move: 'yes' }))).toBe('move');
    expect(await field(await c.post(state, { state: 'NORMAL', move: true }))).toBe('move');
    expect(
      await field(await c.post('/api/routes/services/chat/pods/bad%20pod/state', { state: 'NORMAL' })),
    ).toBe('pod');
    expect((await c.post('/api/routes/services/chat/pods/chat-z/state', { state: 'NORMAL' })).status).toBe(
      409,
    );
    const gone = await c.post('/api/routes/services/chat/pods/chat-b/state', { state: 'DRAINING' });
    expect(gone.status).toBe(409); // confirmation asked: chat-b is controllable
    await f.servers[1]!.stop();
    expect((await c.post('/api/routes/services/chat/pods/chat-b/state', { state: 'DRAINING' })).status).toBe(
      404,
    );
    const none = await c.post('/api/routes/services/chat/pods/chat-a/state', { state: 'DRAINING' });
    expect(none.status).toBe(409);
    expect(await none.json()).toMatchObject({ error: 'NO_POD_CONTROL' });
    await expect(createConsoleServer({ routes: {} as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'routes',
    });
    await expect(createConsoleServer({ routes: { store, servers: [{}] } as never })).rejects.toMatchObject({
      field: 'routes',
    });
  });
});

describe('routes page with the backend down', () => {
  it('answers 503 with the store message; the stream reports the error and keeps going', async () => {
    const down = await startRedis();
    await using store = createRedisRouteStore({ url: down.url, prefix: 'down:', requestTimeout: 300 });
    await using pod = createRouteServer({ store, service: 'chat', pod: 'p1', heartbeat: 100 });
    await pod.start();
    await using server = await createConsoleServer({ token: TOKEN, routes: store });
    const c = await consoleClient(server.url).login(TOKEN);
    expect((await c.get('/api/routes/services/chat/pods')).status).toBe(200);
    const events = readEvents(await c.get('/api/routes/services/chat/events'));
    try {
      expect((await events.next()).pods).toHaveLength(1);
      await down.stop();
      const res = await c.get('/api/routes/services/chat/pods');
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error).toBe('BACKEND_UNAVAILABLE');
      expect(body.message).toMatch(/\S/);
      expect((await c.get('/api/routes/users/u1')).status).toBe(503);
      const err = await events.until((e) => e.error !== undefined, 5_000);
      expect(err.error.error).toBe('BACKEND_UNAVAILABLE');
      expect(await events.until((e) => e.error !== undefined, 3_000)).toBeDefined(); // the stream stays open and retries
    } finally {
      await events.close();
      await pod.close();
    }
  });
});

describe('routing rules restated in the console', () => {
  it('match the package on every combination', () => {
    expect(ROUTING_STATES).toEqual(PKG_STATES);
    const now = 1_000_000;
    for (const state of PKG_STATES)
      for (const move of [false, true])
        for (const deadline of [now - 1, now, now + 1])
          for (const epoch of [5, 6])
            for (const capacity of [0, 1, 2])
              for (const load of [0, 40]) {
                const pod: PodRecord = {
                  pod: 'p',
                  epoch,
                  state,
                  load,
                  capacity,
                  deadline,
                  ttl: 100,
                  move,
                  links: 3,
                };
                expect(acceptsNewUsers(pod, now)).toBe(pkgAccepts(pod, now));
                if (capacity > 0) expect(placementCost(pod)).toBe(pkgCost(pod));
                for (const till of [0, now - 1, now, now + 1]) {
                  const link = { pod: 'p', epoch: 5, till };
                  expect(judgeLink(link, pod, now)).toBe(pkgJudge(link, pod, now));
                  expect(judgeLink(link, undefined, now)).toBe(pkgJudge(link, undefined, now));
                }
              }
  });
});
