import { createServer, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsulEmulator, startConsulEmulator } from '../src/emulators/consul/index.js';

// What a real agent does and the first emulator did not (each point read in hashicorp/consul).

async function api(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/v1${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, index: Number(res.headers.get('x-consul-index') ?? 0), text, json };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ttlService = (id: string, extra: Record<string, unknown> = {}) => ({
  ID: id,
  Name: id.replace(/-\d+$/, ''),
  Port: 80,
  Check: { CheckID: `${id}:ttl`, TTL: '30s', Status: 'passing' },
  ...extra,
});

let dc: ConsulEmulator;
let first: string;
let second: string;
beforeAll(async () => {
  dc = await startConsulEmulator({ nodes: 2 });
  first = dc.agents[0]!.url;
  second = dc.agents[1]!.url;
});
afterAll(async () => {
  await dc.close();
});

describe('several agents: services are unique per node', () => {
  it('the same service id on two agents is two instances, one per node; agent endpoints are local', async () => {
    expect(dc.agents.map((a) => a.node)).toEqual(['switchyard-emulator', 'switchyard-emulator-2']);
    expect(dc.url).toBe(first);
    expect((await api(first, 'PUT', '/agent/service/register', ttlService('dup-1'))).status).toBe(200);
    expect((await api(second, 'PUT', '/agent/service/register', ttlService('dup-1'))).status).toBe(200);
    const health = await api(second, 'GET', '/health/service/dup');
    expect(health.json.map((e: any) => [e.Node.Node, e.Service.ID])).toEqual([
      ['switchyard-emulator', 'dup-1'],
      ['switchyard-emulator-2', 'dup-1'],
    ]);
    expect(Object.keys((await api(first, 'GET', '/agent/services')).json)).toEqual(['dup-1']);
    // A heartbeat reaches only the agent's own check.
    await api(second, 'PUT', '/agent/check/fail/dup-1:ttl');
    const statuses = (await api(first, 'GET', '/health/service/dup')).json.map(
      (e: any) => e.Checks.find((c: any) => c.CheckID === 'dup-1:ttl').Status,
    );
    expect(statuses).toEqual(['passing', 'critical']);
    await api(first, 'PUT', '/agent/service/deregister/dup-1');
    const left = await api(first, 'GET', '/health/service/dup');
    expect(left.json.map((e: any) => e.Node.Node)).toEqual(['switchyard-emulator-2']);
    expect((await api(first, 'GET', '/agent/self')).json.Config.NodeName).toBe('switchyard-emulator');
    expect((await api(second, 'GET', '/agent/self')).json.Config.NodeName).toBe('switchyard-emulator-2');
    await api(second, 'PUT', '/agent/service/deregister/dup-1');
  });
});

describe('heartbeats for a check the agent does not know', () => {
  it('are 404 Unknown check ID on current agents and 500 Unknown check on agents before 1.11', async () => {
    const current = await api(first, 'PUT', '/agent/check/pass/nope:ttl');
    expect(current.status).toBe(404);
    expect(current.text).toContain('Unknown check ID "nope:ttl"');
    await using old = await startConsulEmulator({ version: '1.10.12' });
    const legacy = await api(old.url, 'PUT', '/agent/check/pass/nope:ttl');
    expect(legacy.status).toBe(500);
    expect(legacy.text).toBe('Unknown check "nope:ttl"');
    expect((await api(old.url, 'GET', '/agent/self')).json.Config.Version).toBe('1.10.12');
  });
});

describe('re-registration', () => {
  it('keeps a check’s current status whatever Status the new definition gives', async () => {
    await api(first, 'PUT', '/agent/service/register', ttlService('keep-1'));
    await api(first, 'PUT', '/agent/check/fail/keep-1:ttl');
    // A restarted process registers again, asking for passing: the agent keeps critical.
    await api(first, 'PUT', '/agent/service/register', ttlService('keep-1'));
    const [entry] = (await api(first, 'GET', '/health/service/keep')).json;
    expect(entry.Checks.find((c: any) => c.CheckID === 'keep-1:ttl').Status).toBe('critical');
    await api(first, 'PUT', '/agent/check/pass/keep-1:ttl');
    expect((await api(first, 'GET', '/health/service/keep?passing')).json).toHaveLength(1);
    await api(first, 'PUT', '/agent/service/deregister/keep-1');
  });

  it('with replace-existing-checks drops every check not in the definition, maintenance included', async () => {
    await api(first, 'PUT', '/agent/service/register', {
      ...ttlService('repl-1'),
      Checks: [{ TTL: '30s' }, { TTL: '30s' }],
      Check: undefined,
    });
    await api(first, 'PUT', '/agent/service/maintenance/repl-1?enable=true');
    await api(first, 'PUT', '/agent/service/register?replace-existing-checks', ttlService('repl-1'));
    const [entry] = (await api(first, 'GET', '/health/service/repl')).json;
    expect(entry.Checks.map((c: any) => c.CheckID)).toEqual(['serfHealth', 'repl-1:ttl']);
    await api(first, 'PUT', '/agent/service/deregister/repl-1');
  });
});

describe('HTTP and TCP checks', () => {
  it('wait a random stagger up to the interval before the first probe', async () => {
    const probes: number[] = [];
    const target = createServer((_req, res) => {
      probes.push(Date.now());
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const port = (target.address() as { port: number }).port;
    await using agent = await startConsulEmulator({ random: () => 0.8 });
    try {
      const started = Date.now();
      await api(agent.url, 'PUT', '/agent/service/register', {
        Name: 'stagger',
        Port: port,
        Check: { HTTP: `http://127.0.0.1:${port}/`, Interval: '1s' },
      });
      const [entry] = (await api(agent.url, 'GET', '/health/service/stagger')).json;
      expect(entry.Checks[1].Status).toBe('critical'); // no probe yet: critical until the first one
      await sleep(600);
      expect(probes).toHaveLength(0);
      await sleep(400);
      expect(probes).toHaveLength(1);
      expect(probes[0]! - started).toBeGreaterThanOrEqual(780);
      expect((await api(agent.url, 'GET', '/health/service/stagger?passing')).json).toHaveLength(1);
    } finally {
      target.closeAllConnections();
      await new Promise((r) => target.close(r));
    }
  });
});

describe('the index of a missing service', () => {
  it('follows the catalog until a service goes extinct, then the last extinction of any service', async () => {
    await using agent = await startConsulEmulator();
    await api(agent.url, 'PUT', '/agent/service/register', ttlService('alive-1'));
    const beforeAny = (await api(agent.url, 'GET', '/health/service/absent')).index;
    await api(agent.url, 'PUT', '/agent/check/warn/alive-1:ttl');
    // No extinction yet: a check change anywhere moves it.
    expect((await api(agent.url, 'GET', '/health/service/absent')).index).toBeGreaterThan(beforeAny);
    await api(agent.url, 'PUT', '/agent/service/register', ttlService('doomed-1'));
    await api(agent.url, 'PUT', '/agent/service/deregister/doomed-1');
    const extinct = (await api(agent.url, 'GET', '/health/service/absent')).index;
    expect((await api(agent.url, 'GET', '/health/service/doomed')).index).toBe(extinct);
    // A blocking query on it ignores other changes and wakes at the next extinction.
    const started = Date.now();
    const pending = api(agent.url, 'GET', `/health/service/absent?index=${extinct}&wait=5s`);
    await api(agent.url, 'PUT', '/agent/check/pass/alive-1:ttl');
    await api(agent.url, 'PUT', '/agent/service/register', ttlService('other-1'));
    await sleep(100);
    await api(agent.url, 'PUT', '/agent/service/deregister/other-1');
    const woke = await pending;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(woke.index).toBeGreaterThan(extinct);
    expect(woke.json).toEqual([]);
  });
});

describe('validation the agent does', () => {
  it('rejects Meta over Consul’s limits and an "any" address with 400', async () => {
    const reg = (extra: Record<string, unknown>) =>
      api(first, 'PUT', '/agent/service/register', { Name: 'val', Port: 1, ...extra });
    const meta65 = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    const cases: [Record<string, unknown>, string][] = [
      [{ Meta: meta65 }, 'cannot contain more than 64 key/value pairs'],
      [{ Meta: { ['k'.repeat(129)]: 'v' } }, 'Key is too long (limit: 128 characters)'],
      [{ Meta: { 'bad key': 'v' } }, 'Key contains invalid characters'],
      [{ Meta: { 'consul-x': 'v' } }, "Key prefix 'consul-' is reserved for internal use"],
      [{ Meta: { k: 'v'.repeat(513) } }, 'Value is too long (limit: 512 characters)'],
      [{ Address: '0.0.0.0' }, 'Invalid service address'],
      [{ Address: '::' }, 'Invalid service address'],
    ];
    for (const [body, message] of cases) {
      const r = await reg(body);
      expect(r.status, message).toBe(400);
      expect(r.text).toContain(message);
    }
    const meta64 = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(512)]));
    expect((await reg({ Meta: meta64 })).status).toBe(200);
    await api(first, 'PUT', '/agent/service/deregister/val');
  });
});

describe('a non-dev (persistent) agent', () => {
  it('keeps its API registrations, index and KV across a restart; restored checks start critical unless a TTL is unexpired', async () => {
    await using agent = await startConsulEmulator({ persistent: true });
    await api(agent.url, 'PUT', '/agent/service/register', ttlService('kept-1'));
    await api(agent.url, 'PUT', '/agent/service/register', {
      ...ttlService('short-1'),
      Check: { CheckID: 'short-1:ttl', TTL: '1s', Status: 'passing' },
    });
    await api(agent.url, 'PUT', '/kv/persisted', 'v');
    const before = (await api(agent.url, 'GET', '/health/service/kept')).index;
    await agent.restart({ downtime: 1100 });
    const kept = await api(agent.url, 'GET', '/health/service/kept');
    expect(kept.index).toBeGreaterThanOrEqual(before);
    expect(kept.json[0].Checks[1].Status).toBe('passing'); // 30 s TTL not expired during the downtime
    const short = await api(agent.url, 'GET', '/health/service/short');
    expect(short.json[0].Checks[1].Status).toBe('critical'); // expired while the agent was down
    expect((await api(agent.url, 'PUT', '/agent/check/pass/short-1:ttl')).status).toBe(200);
    expect((await api(agent.url, 'GET', '/kv/persisted?raw')).text).toBe('v');
  });
});

describe('http_max_conns_per_client', () => {
  function blockingGet(url: string): Promise<number> {
    return new Promise((resolve) => {
      const req = request(
        `${url}/v1/health/service/limited?index=100000&wait=2s`,
        { agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(-1));
      req.end();
    });
  }

  it('refuses a client IP’s connections past the limit with a 429 and closes them', async () => {
    await using agent = await startConsulEmulator({ maxConnsPerClient: 3 });
    const held = [blockingGet(agent.url), blockingGet(agent.url), blockingGet(agent.url)];
    await sleep(100);
    expect(agent.agents[0]!.openConnections).toBe(3);
    expect(await blockingGet(agent.url)).toBe(429);
    expect(agent.rejectedConnections).toBe(1);
    await agent.restart(); // cut the held ones
    await Promise.all(held);
    expect((await api(agent.url, 'GET', '/status/leader')).status).toBe(200);
  });
});
