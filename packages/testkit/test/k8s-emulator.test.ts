import { get as httpGet, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type K8sEmulator, type KubeObject, startK8sEmulator } from '../src/emulators/k8s/index.js';

// One emulator for the file; every test uses its own namespace so they do not see each other.
let k8s: K8sEmulator;
beforeAll(async () => {
  k8s = await startK8sEmulator({ bookmarkInterval: 100, continueTokenTtl: 60_000, tooLargeWait: 150 });
});
afterAll(async () => {
  await k8s.close();
});

let nsSeq = 0;
const newNamespace = () => `ns${++nsSeq}`;
const SLICES = (ns?: string) => `/apis/discovery.k8s.io/v1${ns ? `/namespaces/${ns}` : ''}/endpointslices`;

function slice(
  ns: string,
  name: string,
  extra: Partial<KubeObject> = {},
  labels: Record<string, string> = {},
): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': 'web', ...labels } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.1.2.3'], conditions: { ready: true } }],
    ...extra,
  };
}

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(`${k8s.url}${path}`, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json };
}

interface WatchLine {
  type: string;
  object: any;
}

/** Opens a raw watch and collects its lines. */
function watch(path: string): Promise<{
  status: number;
  lines: WatchLine[];
  ended: Promise<'end' | 'error'>;
  until(pred: (lines: WatchLine[]) => boolean, timeout?: number): Promise<void>;
  close(): void;
  bytes(): number;
}> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${k8s.url}${path}`, (res: IncomingMessage) => {
      const lines: WatchLine[] = [];
      let buffer = '';
      let bytes = 0;
      res.setEncoding('utf8');
      const ended = new Promise<'end' | 'error'>((r) => {
        res.on('end', () => r('end'));
        res.on('error', () => r('error'));
        res.on('aborted', () => r('error'));
        res.on('close', () => r(res.complete ? 'end' : 'error'));
      });
      res.on('data', (chunk: string) => {
        bytes += chunk.length;
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          lines.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        lines,
        ended,
        bytes: () => bytes,
        close: () => req.destroy(),
        async until(pred, timeout = 3000) {
          const deadline = Date.now() + timeout;
          while (!pred(lines)) {
            if (Date.now() > deadline)
              throw new Error(`watch lines: ${JSON.stringify(lines.map((l) => l.type))}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        },
      });
    });
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const types = (lines: WatchLine[]) =>
  lines
    .filter((l) => l.type !== 'BOOKMARK')
    .map((l) => `${l.type} ${l.object.metadata?.name ?? l.object.reason}`);

describe('k8s emulator checklist (testkit)', () => {
  it('1. resourceVersions are opaque decimal strings from one counter, strictly increasing, never reused', async () => {
    const ns = newNamespace();
    const seen: number[] = [];
    const a = k8s.apply(slice(ns, 'a'));
    seen.push(Number(a.metadata.resourceVersion));
    const svc = k8s.apply({
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { ports: [{ port: 80 }] },
    });
    seen.push(Number(svc.metadata.resourceVersion));
    seen.push(Number(k8s.apply(slice(ns, 'a', { endpoints: [] })).metadata.resourceVersion));
    k8s.remove('EndpointSlice', ns, 'a');
    seen.push(k8s.resourceVersion);
    seen.push(Number(k8s.apply(slice(ns, 'a')).metadata.resourceVersion));
    expect(typeof a.metadata.resourceVersion).toBe('string');
    expect(a.metadata.resourceVersion).toMatch(/^\d+$/);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(new Set(seen).size).toBe(seen.length);
    const list = await api(`${SLICES(ns)}`);
    expect(list.json.metadata.resourceVersion).toBe(String(k8s.resourceVersion));
    // Items of a list carry no kind/apiVersion (like typed lists from kube-apiserver); watch objects do.
    expect(list.json.kind).toBe('EndpointSliceList');
    expect(list.json.items[0].kind).toBeUndefined();
  });

  it('2. list semantics: resourceVersion / resourceVersionMatch table, limit/continue, expiring tokens, remainingItemCount', async () => {
    const ns = newNamespace();
    for (let i = 0; i < 5; i++) k8s.apply(slice(ns, `s${i}`));
    const rv1 = k8s.resourceVersion;
    k8s.apply(slice(ns, 's5'));
    const rv2 = k8s.resourceVersion;
    // Unset = most recent; "0" = any (here the newest); a value without limit = not older than (served at the newest).
    expect((await api(SLICES(ns))).json.items).toHaveLength(6);
    expect((await api(`${SLICES(ns)}?resourceVersion=0`)).json.items).toHaveLength(6);
    const notOlder = await api(`${SLICES(ns)}?resourceVersion=${rv1}`);
    expect(notOlder.json.metadata.resourceVersion).toBe(String(rv2));
    expect(notOlder.json.items).toHaveLength(6);
    // A value with limit (legacy) or with Exact = exactly that version.
    const exact = await api(`${SLICES(ns)}?resourceVersion=${rv1}&resourceVersionMatch=Exact`);
    expect(exact.json.metadata.resourceVersion).toBe(String(rv1));
    expect(exact.json.items).toHaveLength(5);
    const legacyExact = await api(`${SLICES(ns)}?resourceVersion=${rv1}&limit=100`);
    expect(legacyExact.json.items).toHaveLength(5);
    expect((await api(`${SLICES(ns)}?resourceVersion=0&resourceVersionMatch=NotOlderThan`)).status).toBe(200);
    // Invalid combinations: 422 Invalid on ListOptions, 400 for a version with continue.
    for (const q of [
      'resourceVersionMatch=Exact',
      'resourceVersion=0&resourceVersionMatch=Exact',
      'resourceVersion=1&resourceVersionMatch=Newest',
    ]) {
      const r = await api(`${SLICES(ns)}?${q}`);
      expect(r.status, q).toBe(422);
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    }
    // Paging: a consistent snapshot across pages; the token is at the first page's version.
    const p1 = await api(`${SLICES(ns)}?limit=2`);
    expect(p1.json.items.map((i: any) => i.metadata.name)).toEqual(['s0', 's1']);
    expect(p1.json.metadata.remainingItemCount).toBe(4);
    k8s.apply(slice(ns, 's6'));
    k8s.remove('EndpointSlice', ns, 's3');
    const token = p1.json.metadata.continue as string;
    expect((await api(`${SLICES(ns)}?limit=2&continue=${token}&resourceVersion=${rv1}`)).status).toBe(400);
    expect(
      (await api(`${SLICES(ns)}?limit=2&continue=${token}&resourceVersionMatch=Exact&resourceVersion=1`))
        .status,
    ).toBe(422);
    const names: string[] = p1.json.items.map((i: any) => i.metadata.name);
    let next: string | undefined = token;
    while (next) {
      const p = await api(`${SLICES(ns)}?limit=2&continue=${next}`);
      expect(p.json.metadata.resourceVersion).toBe(p1.json.metadata.resourceVersion);
      names.push(...p.json.items.map((i: any) => i.metadata.name));
      next = p.json.metadata.continue;
    }
    expect(names).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    // A selector hides remainingItemCount.
    expect(
      (await api(`${SLICES(ns)}?limit=2&labelSelector=kubernetes.io/service-name%3Dweb`)).json.metadata
        .remainingItemCount,
    ).toBeUndefined();
    // Tokens expire with the compaction that backs them: 410 Expired with an inconsistent continuation.
    const q1 = await api(`${SLICES(ns)}?limit=2`);
    // Like etcd, compaction keeps the newest revision readable: the token dies once something newer exists.
    k8s.apply(slice(ns, 's7'));
    k8s.compact();
    const gone = await api(`${SLICES(ns)}?limit=2&continue=${q1.json.metadata.continue}`);
    expect(gone.status).toBe(410);
    expect(gone.json).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    const inconsistent = await api(`${SLICES(ns)}?limit=10&continue=${gone.json.metadata.continue}`);
    expect(inconsistent.json.items.map((i: any) => i.metadata.name)).toEqual(['s2', 's4', 's5', 's6', 's7']);
    // An exact list below the compaction point is gone; a future version times out as TooLarge.
    expect((await api(`${SLICES(ns)}?resourceVersion=${rv1}&resourceVersionMatch=Exact`)).status).toBe(410);
    const future = await api(`${SLICES(ns)}?resourceVersion=${k8s.resourceVersion + 1000}`);
    expect(future.status).toBe(504);
    expect(future.json.details.causes[0].reason).toBe('ResourceVersionTooLarge');
    expect(future.headers.get('retry-after')).toBe('1');
  });

  it('2b. continue tokens also expire by age (continueTokenTtl)', async () => {
    const emu = await startK8sEmulator({ continueTokenTtl: 100 });
    try {
      for (let i = 0; i < 3; i++) emu.apply(slice('default', `s${i}`));
      const p1 = (await (await fetch(`${emu.url}${SLICES('default')}?limit=1`)).json()) as any;
      await sleep(150);
      const r = await fetch(`${emu.url}${SLICES('default')}?limit=1&continue=${p1.metadata.continue}`);
      expect(r.status).toBe(410);
    } finally {
      await emu.close();
    }
  });

  it('3. watch start modes: synthetic ADDED without a version (or "0"), none from an exact version', async () => {
    const ns = newNamespace();
    k8s.apply(slice(ns, 'a'));
    k8s.apply(slice(ns, 'b'));
    const rv = k8s.resourceVersion;
    const fromNow = await watch(`${SLICES(ns)}?watch=1`);
    const fromAny = await watch(`${SLICES(ns)}?watch=true&resourceVersion=0`);
    const fromRv = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${rv}`);
    k8s.apply(slice(ns, 'c'));
    k8s.apply(slice(ns, 'a', { endpoints: [] }));
    for (const w of [fromNow, fromAny]) {
      await w.until((l) => l.length >= 4);
      expect(types(w.lines)).toEqual(['ADDED a', 'ADDED b', 'ADDED c', 'MODIFIED a']);
    }
    await fromRv.until((l) => l.length >= 2);
    expect(types(fromRv.lines)).toEqual(['ADDED c', 'MODIFIED a']);
    expect(fromRv.lines[0]!.object).toMatchObject({
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
    });
    // Replay from an older version delivers the history after it.
    const replay = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${rv - 1}`);
    await replay.until((l) => l.length >= 3);
    expect(types(replay.lines)).toEqual(['ADDED b', 'ADDED c', 'MODIFIED a']);
    for (const w of [fromNow, fromAny, fromRv, replay]) w.close();
  });

  it('4. compaction: 410 at watch start (ERROR event or HTTP status) and mid-stream ERROR Expired', async () => {
    const ns = newNamespace();
    k8s.apply(slice(ns, 'a'));
    const old = k8s.resourceVersion;
    k8s.apply(slice(ns, 'b'));
    k8s.compact();
    const start = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${old - 1}`);
    expect(start.status).toBe(200);
    expect(await start.ended).toBe('end');
    expect(start.lines).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 }),
      },
    ]);
    const strict = await startK8sEmulator({ expiredWatch: 'status' });
    try {
      strict.apply(slice('default', 'a'));
      strict.apply(slice('default', 'b'));
      strict.compact();
      const r = await fetch(`${strict.url}${SLICES('default')}?watch=1&resourceVersion=1`);
      expect(r.status).toBe(410);
      expect(await r.json()).toMatchObject({ reason: 'Expired', code: 410 });
    } finally {
      await strict.close();
    }
    const live = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}`);
    k8s.apply(slice(ns, 'c'));
    await live.until((l) => l.length >= 1);
    k8s.expireWatches();
    expect(await live.ended).toBe('end');
    expect(types(live.lines)).toEqual(['ADDED c', 'ERROR Expired']);
    // The history window is a knob too: the oldest changes fall out.
    const small = await startK8sEmulator({ historyLimit: 2 });
    try {
      for (let i = 0; i < 5; i++) small.apply(slice('default', `x${i}`));
      const r = await fetch(`${small.url}${SLICES('default')}?resourceVersion=1&resourceVersionMatch=Exact`);
      expect(r.status).toBe(410);
      const ok = await fetch(`${small.url}${SLICES('default')}?resourceVersion=3&resourceVersionMatch=Exact`);
      expect(ok.status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('5. bookmarks: idle BOOKMARKs carry only the version; sendInitialEvents ends with the initial-events-end bookmark', async () => {
    const ns = newNamespace();
    k8s.apply(slice(ns, 'a'));
    const w = await watch(
      `${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}&allowWatchBookmarks=true`,
    );
    await w.until((l) => l.filter((x) => x.type === 'BOOKMARK').length >= 2, 2000);
    const b = w.lines.find((l) => l.type === 'BOOKMARK')!;
    expect(b.object).toEqual({
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
    w.close();
    const without = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}`);
    await sleep(300);
    expect(without.lines).toEqual([]);
    without.close();
    k8s.apply(slice(ns, 'b'));
    const stream = await watch(
      `${SLICES(ns)}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    await stream.until((l) =>
      l.some((x) => x.object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true'),
    );
    expect(stream.lines.slice(0, 3).map((l) => l.type)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
    expect(stream.lines[2]!.object.metadata.resourceVersion).toBe(String(k8s.resourceVersion));
    stream.close();
    const invalid = await api(`${SLICES(ns)}?watch=1&sendInitialEvents=true`);
    expect(invalid.status).toBe(422);
    expect((await api(`${SLICES(ns)}?watch=1&resourceVersionMatch=NotOlderThan`)).status).toBe(422);
  });

  it('6. timeoutSeconds ends the stream cleanly (after a last bookmark)', async () => {
    const ns = newNamespace();
    const started = Date.now();
    const w = await watch(
      `${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}&timeoutSeconds=1&allowWatchBookmarks=true`,
    );
    expect(await w.ended).toBe('end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(w.lines.at(-1)!.type).toBe('BOOKMARK');
  });

  it('7. label and field selectors; an object leaving the selector is DELETED for that watcher', async () => {
    const ns = newNamespace();
    k8s.apply(slice(ns, 'a', {}, { tier: 'front' }));
    const rv = k8s.resourceVersion;
    const sel = await watch(
      `${SLICES(ns)}?watch=1&resourceVersion=${rv}&labelSelector=${encodeURIComponent('tier in (front,edge),!legacy')}`,
    );
    const byName = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Da`);
    k8s.apply(slice(ns, 'a', {}, { tier: 'back' })); // leaves the selection
    k8s.apply(slice(ns, 'b', {}, { tier: 'edge' })); // enters it
    k8s.apply(slice(ns, 'a', {}, { tier: 'front' })); // comes back
    k8s.apply(slice(ns, 'b', {}, { tier: 'edge', legacy: 'yes' })); // leaves by the "!legacy" requirement
    await sel.until((l) => l.length >= 4);
    expect(types(sel.lines)).toEqual(['DELETED a', 'ADDED b', 'ADDED a', 'DELETED b']);
    // The DELETED object is the previous content at the event's version.
    const del = sel.lines[0]!.object;
    expect(del.metadata.labels.tier).toBe('front');
    expect(Number(del.metadata.resourceVersion)).toBe(rv + 1);
    await byName.until((l) => l.length >= 2);
    expect(types(byName.lines)).toEqual(['MODIFIED a', 'MODIFIED a']);
    const list = await api(`${SLICES(ns)}?labelSelector=tier%3Dedge,legacy`);
    expect(list.json.items.map((i: any) => i.metadata.name)).toEqual(['b']);
    expect((await api(`${SLICES(ns)}?fieldSelector=spec.nope%3D1`)).status).toBe(400);
    expect((await api(`${SLICES(ns)}?labelSelector=${encodeURIComponent('a in ()')}`)).status).toBe(400);
    sel.close();
    byName.close();
  });

  it('8. faults: reset, stall without FIN, drop every n events, 500, 429 with Retry-After, black hole, slow lists', async () => {
    const ns = newNamespace();
    // A reset: the client sees an error, not a clean end.
    const reset = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}`);
    k8s.dropWatches();
    expect(await reset.ended).toBe('error');
    // A stall: events stop, bookmarks stop, the socket stays open; resuming flushes what was held.
    const stalled = await watch(
      `${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}&allowWatchBookmarks=true`,
    );
    const resume = k8s.stallWatches();
    const bytes = stalled.bytes();
    k8s.apply(slice(ns, 'a'));
    await sleep(300);
    expect(stalled.bytes()).toBe(bytes);
    expect(k8s.openWatches).toBeGreaterThanOrEqual(1);
    resume();
    await stalled.until((l) => l.some((x) => x.type === 'ADDED'));
    stalled.close();
    // Drop every n events.
    k8s.dropWatchesEvery(2);
    const dropped = await watch(`${SLICES(ns)}?watch=1&resourceVersion=${k8s.resourceVersion}`);
    for (let i = 0; i < 3; i++) k8s.apply(slice(ns, `d${i}`));
    expect(await dropped.ended).toBe('error');
    expect(types(dropped.lines)).toEqual(['ADDED d0', 'ADDED d1']);
    k8s.dropWatchesEvery(undefined);
    // 500 and 429 as Status objects; Retry-After on 429.
    k8s.failNext(1, { status: 500 });
    const e500 = await api(SLICES(ns));
    expect(e500.json).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    k8s.failNext(1, { status: 429, retryAfter: 3, match: { watch: true } });
    expect((await api(SLICES(ns))).status).toBe(200);
    const e429 = await api(`${SLICES(ns)}?watch=1`);
    expect(e429.status).toBe(429);
    expect(e429.headers.get('retry-after')).toBe('3');
    expect(e429.json).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
    // A black hole: accepted, never answered.
    k8s.blackholeNext(1, { match: { path: /endpointslices$/ } });
    const ac = new AbortController();
    const outcome = await Promise.race([
      fetch(`${k8s.url}${SLICES(ns)}`, { signal: ac.signal }).then(
        () => 'answered',
        () => 'aborted',
      ),
      sleep(300).then(() => 'no answer'),
    ]);
    ac.abort();
    expect(outcome).toBe('no answer');
    // Slow lists.
    k8s.setListDelay(200);
    const t0 = Date.now();
    await api(SLICES(ns));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
    k8s.setListDelay(0);
  });
});

describe('k8s emulator: API surface', () => {
  it('create, get, replace with a resourceVersion precondition, delete (Status Success)', async () => {
    const ns = newNamespace();
    const body = JSON.stringify(slice(ns, 'crud'));
    const created = await api(SLICES(ns), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(created.status).toBe(201);
    expect((await api(SLICES(ns), { method: 'POST', body })).json.reason).toBe('AlreadyExists');
    const item = `${SLICES(ns)}/crud`;
    const got = await api(item);
    expect(got.json.metadata.uid).toBe(created.json.metadata.uid);
    const stale = { ...got.json, metadata: { ...got.json.metadata, resourceVersion: '1' } };
    expect((await api(item, { method: 'PUT', body: JSON.stringify(stale) })).json.reason).toBe('Conflict');
    const replaced = await api(item, { method: 'PUT', body: JSON.stringify({ ...got.json, endpoints: [] }) });
    expect(replaced.status).toBe(200);
    expect(replaced.json.metadata.generation).toBe(2);
    const bad = await api(SLICES(ns), {
      method: 'POST',
      body: JSON.stringify({ ...slice(ns, 'bad'), addressType: 'IPv5' }),
    });
    expect(bad.json).toMatchObject({ reason: 'Invalid', code: 422 });
    expect((await api(item, { method: 'DELETE' })).json).toMatchObject({ kind: 'Status', status: 'Success' });
    expect((await api(item)).json.reason).toBe('NotFound');
  });

  it('restart: connections cut, history compacted (or renumbered with a new history)', async () => {
    const emu = await startK8sEmulator();
    try {
      emu.apply(slice('default', 'a'));
      emu.apply(slice('default', 'b'));
      const before = emu.resourceVersion;
      await emu.restart();
      expect(emu.resourceVersion).toBe(before);
      expect(
        (await fetch(`${emu.url}${SLICES('default')}?resourceVersion=1&resourceVersionMatch=Exact`)).status,
      ).toBe(410);
      await emu.restart({ history: 'new', firstResourceVersion: 1 });
      expect(emu.list('EndpointSlice').map((o) => o.metadata.resourceVersion)).toEqual(['1', '2']);
      await emu.restart({ downtime: 100 });
      expect((await fetch(`${emu.url}/healthz`)).status).toBe(200);
    } finally {
      await emu.close();
    }
  });

  it('TLS and bearer-token auth: 401 Status without the token; the real client-node lists, watches and informs', async () => {
    const emu = await startK8sEmulator({ tls: true, token: 's3cret', bookmarkInterval: 100 });
    try {
      const unauth = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${emu.url}${SLICES('default')}`, { ca: emu.ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(unauth).toBe(401);
      const kc = new KubeConfig();
      kc.loadFromOptions(emu.kubeconfig({ namespace: 'default' }));
      const discovery = kc.makeApiClient(DiscoveryV1Api);
      await discovery.createNamespacedEndpointSlice({
        namespace: 'default',
        body: slice('default', 'web-1') as unknown as V1EndpointSlice,
      });
      const list = await discovery.listNamespacedEndpointSlice({ namespace: 'default' });
      expect(list.items.map((i) => i.metadata?.name)).toEqual(['web-1']);
      const services = kc.makeApiClient(CoreV1Api);
      await services.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } },
      });
      expect((await services.listServiceForAllNamespaces()).items).toHaveLength(1);
      // client-node's own informer over the emulator.
      const informer = makeInformer(kc, SLICES('default'), () =>
        discovery.listNamespacedEndpointSlice({ namespace: 'default' }),
      );
      const added: string[] = [];
      informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
      await informer.start();
      await discovery.createNamespacedEndpointSlice({
        namespace: 'default',
        body: slice('default', 'web-2') as unknown as V1EndpointSlice,
      });
      for (let i = 0; i < 100 && added.length < 2; i++) await sleep(20);
      await informer.stop();
      expect(added).toEqual(['web-1', 'web-2']);
    } finally {
      await emu.close();
    }
  });
});
