import { channel } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMemoryLock,
  DIAGNOSTICS_CHANNELS,
  isSwitchyardError,
  publishDiagnostic,
} from '../src/index.js';
import {
  createPrometheusExporter,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusExporter,
} from '../src/prometheus/index.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the text exposition format (0.0.4): every line is a comment (`# HELP`,
 * `# TYPE`), or `name{label="value",…} number`; anything else fails the test.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n').slice(0, -1)) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        expect(types.has(meta[2] as string)).toBe(false);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (let lm = re.exec(body); lm; lm = re.exec(body)) {
      labels[lm[1] as string] = (lm[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    expect(consumed).toBe(body.length);
    const value = m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3]);
    expect(Number.isNaN(value) && m[3] !== 'NaN').toBe(false);
    samples.push({ name: m[1] as string, labels, value });
  }
  return { samples, types };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const total = (samples: Sample[], name: string, labels?: Record<string, string>) =>
  find(samples, name, labels).reduce((n, s) => n + s.value, 0);

let exporter: PrometheusExporter | undefined;
let server: Server | undefined;
afterEach(async () => {
  exporter?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function scrape(e: PrometheusExporter): Promise<{ text: string; type: string | null }> {
  server = createServer(e.handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return { text: await res.text(), type: res.headers.get('content-type') };
}

describe('@switchyard/core/prometheus', () => {
  it('a scrape over HTTP parses as the exposition format and counts real lock leases', async () => {
    exporter = createPrometheusExporter({ lockKeyLabel: (key) => key.split(':')[0] });
    const lock = createMemoryLock();
    const a = await lock.acquire('orders:1');
    const b = await lock.acquire('orders:2');
    const c = await lock.acquire('billing:1');
    await a.release();
    const { text, type } = await scrape(exporter);
    expect(type).toBe(PROMETHEUS_CONTENT_TYPE);
    const { samples, types } = parseExposition(text);
    expect(types.get('switchyard_lock_acquired_total')).toBe('counter');
    expect(types.get('switchyard_lock_held')).toBe('gauge');
    expect(total(samples, 'switchyard_lock_acquired_total', { source: 'core', lock: 'orders' })).toBe(2);
    expect(total(samples, 'switchyard_lock_acquired_total', { lock: 'billing' })).toBe(1);
    expect(total(samples, 'switchyard_lock_released_total')).toBe(1);
    expect(total(samples, 'switchyard_lock_held', { lock: 'orders' })).toBe(1);
    // every counter ends in _total, every histogram in _seconds
    for (const [name, kind] of types) {
      if (kind === 'counter') expect(name).toMatch(/_total$/);
      if (kind === 'histogram') expect(name).toMatch(/_seconds$/);
    }
    await Promise.all([b.release(), c.release(), lock.close()]);
  });

  it('discovery, balancer and cache events become bounded series; histograms are cumulative', async () => {
    exporter = createPrometheusExporter({ buckets: [0.01, 0.1, 1] });
    const diff = { added: [{}], removed: [{}, {}], updated: [] };
    publishDiagnostic('discovery:resync', { service: 'orders', diff, afterOutage: true }, 'core', {
      backend: 'etcd',
    });
    publishDiagnostic('discovery:recovered', { service: 'orders', staleFor: 2500, diff }, 'core', {
      backend: 'etcd',
    });
    publishDiagnostic(
      'balancer:instances-changed',
      { service: 'orders', instances: [{}, {}, {}] },
      'loadbalancer',
    );
    publishDiagnostic(
      'balancer:breaker-changed',
      { service: 'orders', id: 'o-1', state: 'open' },
      'loadbalancer',
    );
    publishDiagnostic('balancer:budget-exhausted', { service: 'orders', kind: 'retry' }, 'loadbalancer');
    for (const duration of [5, 50, 50, 500, 5000]) {
      publishDiagnostic(
        'cache:loaded',
        { cache: 'catalog', namespace: 'products', key: 'k', duration, negative: false },
        'cache',
      );
    }
    publishDiagnostic('cache:hit', { cache: 'catalog', namespace: 'products', key: 'k', tier: 0 }, 'cache');
    publishDiagnostic('cache:bus', { cache: 'catalog', state: 'connected' }, 'cache');
    const { samples, types } = parseExposition(exporter.metrics());

    expect(
      total(samples, 'switchyard_discovery_resync_total', {
        backend: 'etcd',
        service: 'orders',
        after_outage: 'true',
      }),
    ).toBe(1);
    expect(total(samples, 'switchyard_discovery_missed_changes_total', { service: 'orders' })).toBe(3);
    expect(types.get('switchyard_discovery_stale_duration_seconds')).toBe('histogram');
    expect(total(samples, 'switchyard_discovery_stale_duration_seconds_sum')).toBe(2.5);
    expect(total(samples, 'switchyard_balancer_instances', { service: 'orders' })).toBe(3);
    expect(total(samples, 'switchyard_balancer_breaker_transitions_total', { state: 'open' })).toBe(1);
    expect(
      total(samples, 'switchyard_balancer_budget_exhausted_total', { service: 'orders', kind: 'retry' }),
    ).toBe(1);
    expect(total(samples, 'switchyard_cache_hits_total', { cache: 'catalog', tier: '0' })).toBe(1);
    expect(total(samples, 'switchyard_cache_bus_connected', { cache: 'catalog' })).toBe(1);
    const bucket = (le: string) => total(samples, 'switchyard_cache_load_duration_seconds_bucket', { le });
    expect([bucket('0.01'), bucket('0.1'), bucket('1'), bucket('+Inf')]).toEqual([1, 3, 4, 5]);
    expect(total(samples, 'switchyard_cache_load_duration_seconds_count')).toBe(5);
    // no key or instance id ever becomes a label
    for (const s of samples) expect(Object.keys(s.labels)).not.toContain('key');
  });

  it('label sets past maxSeries fold into one _other series; label values are escaped', () => {
    exporter = createPrometheusExporter({ maxSeries: 3 });
    for (let i = 0; i < 10; i++)
      publishDiagnostic('balancer:ejected', { service: `svc-${i}`, id: 'x', duration: 1 }, 'loadbalancer');
    publishDiagnostic(
      'balancer:watch-error',
      { service: 'we"ird\\\nname', error: new Error('x') },
      'loadbalancer',
    );
    const { samples } = parseExposition(exporter.metrics());
    const ejected = find(samples, 'switchyard_balancer_ejections_total');
    expect(ejected).toHaveLength(4);
    expect(total(samples, 'switchyard_balancer_ejections_total', { service: '_other' })).toBe(7);
    expect(find(samples, 'switchyard_balancer_watch_errors_total')[0]?.labels.service).toBe('we"ird\\\nname');
  });

  it('listens on every channel core lists (a renamed channel fails here, not silently in production)', () => {
    exporter = createPrometheusExporter();
    const unheard = DIAGNOSTICS_CHANNELS.filter((name) => !channel(name).hasSubscribers);
    expect(unheard).toEqual([]);
  });

  it('close() unsubscribes; bad options are INVALID_ARGUMENT naming the field', async () => {
    exporter = createPrometheusExporter();
    exporter.close();
    expect(exporter.closed).toBe(true);
    publishDiagnostic('cache:miss', { cache: 'c', namespace: '', key: 'k' }, 'cache');
    expect(total(parseExposition(exporter.metrics()).samples, 'switchyard_cache_misses_total')).toBe(0);
    for (const [field, bad] of [
      ['prefix', { prefix: 'bad-prefix' }],
      ['maxSeries', { maxSeries: 0 }],
      ['buckets', { buckets: [Number.NaN] }],
      ['lockKeyLabel', { lockKeyLabel: 'x' }],
    ] as const) {
      let error: unknown;
      try {
        createPrometheusExporter(bad as never);
      } catch (e) {
        error = e;
      }
      expect(isSwitchyardError(error, 'INVALID_ARGUMENT') && error.field).toBe(field);
    }
  });
});
