/**
 * Gateway benchmark: autocannon on loopback, same run, bounded. Every target runs in its own child
 * process (bundled with esbuild, plain `node`, so RSS is the proxy's own), all in front of the same
 * upstream child. Two phases per target:
 *   - throughput: closed loop, `--connections` connections for `--duration` s → RPS;
 *   - latency: open loop at a fixed `--rate` req/s → exact P50/P95/P99 from every response time,
 *     and the latency the proxy adds over hitting the upstream directly at the same rate.
 * `pnpm bench [-- --duration 5 --rate 2000 --connections 50 --only switchyard,direct]`
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { build } from 'esbuild';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
  },
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const connections = Number(values.connections);

const TARGETS: { name: string; label: string; execArgv?: string[] }[] = [
  { name: 'switchyard', label: 'switchyard gateway' },
  // Same gateway with a smaller V8 young generation: the memory-tuned deployment.
  {
    name: 'switchyard',
    label: 'switchyard, V8 heap capped',
    execArgv: (process.env.GW_TUNED ?? '--max-semi-space-size=1 --max-old-space-size=24').split(' '),
  },
  { name: 'fastify-http-proxy', label: '@fastify/http-proxy' },
  { name: 'http-proxy', label: 'http-proxy' },
  { name: 'http-proxy-3', label: 'http-proxy-3' },
];
const dir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
const children: ChildProcess[] = [];

async function bundle(name: string): Promise<string> {
  const out = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [join(import.meta.dirname, 'targets', `${name}.ts`)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['switchyard-source'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  });
  return out;
}

function ask<T>(child: ChildProcess, msg: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const exit = (code: number | null) => reject(new Error(`child exited (${code})`));
    const on = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off('message', on);
      child.off('exit', exit);
      resolve(m[key] as T);
    };
    child.on('message', on);
    child.once('exit', exit);
    child.send(msg);
  });
}

async function startChild(
  name: string,
  upstream: string,
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(await bundle(name), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  children.push(child);
  const port = await ask<number>(child, { upstream }, 'port');
  return { child, url: `http://127.0.0.1:${port}/` };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function cannon(url: string, opts: { duration: number; connections: number; overallRate?: number }) {
  const times: number[] = [];
  // Without a callback autocannon returns a promise that is also the instance (an EventEmitter).
  const instance = autocannon({ url, ...opts, pipelining: 1 }) as unknown as Promise<autocannon.Result> &
    NodeJS.EventEmitter;
  instance.on('response', (_c: unknown, _status: number, _bytes: number, ms: number) => times.push(ms));
  const result = await instance;
  const sorted = Float64Array.from(times).sort();
  return {
    rps: result.requests.average,
    errors: result.errors + result.non2xx + result.timeouts,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

interface Row {
  name: string;
  rps: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  rss: number | undefined;
  idleRss: number | undefined;
}

async function measure(name: string, url: string, child?: ChildProcess): Promise<Row> {
  const idleRss = child ? await ask<number>(child, { cmd: 'rss' }, 'rss') : undefined;
  await cannon(url, { duration: 1, connections }); // warm-up (JIT, pools)
  const sample: number[] = [];
  const poll = child
    ? setInterval(() => void ask<number>(child, { cmd: 'rss' }, 'rss').then((r) => sample.push(r)), 250)
    : undefined;
  const t = await cannon(url, { duration, connections });
  const l = await cannon(url, { duration, connections: Math.min(connections, 20), overallRate: rate });
  if (poll) clearInterval(poll);
  return {
    name,
    rps: t.rps,
    errors: t.errors + l.errors,
    p50: l.p50,
    p95: l.p95,
    p99: l.p99,
    rss: sample.length ? Math.max(...sample) : undefined,
    idleRss,
  };
}

const only = values.only?.split(',');
const rows: Row[] = [];
try {
  const up = await startChild('upstream', 'http://unused');
  process.stdout.write(
    `upstream ${up.url}; ${duration} s per phase, ${connections} connections, latency at ${rate} req/s\n`,
  );
  if (!only || only.includes('direct')) rows.push(await measure('direct (no proxy)', up.url, up.child));
  for (const { name, label, execArgv } of TARGETS) {
    if (only && !only.includes(name)) continue;
    const t = await startChild(name, up.url.replace(/\/$/, ''), execArgv);
    rows.push(await measure(label, t.url, t.child));
    t.child.kill();
  }
} finally {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
}

const direct = rows.find((r) => r.name.startsWith('direct'));
const ours = rows.find((r) => r.name === 'switchyard gateway');
const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const lines = [
  '| target | RPS | P50 ms | P95 ms | P99 ms | P95 added vs direct ms | RSS idle / peak MB | errors | gateway RPS ÷ this |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.rps)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${direct && r !== direct ? f(r.p95 - direct.p95) : '-'} | ${r.idleRss ? f(r.idleRss / 2 ** 20, 0) : '-'} / ${r.rss ? f(r.rss / 2 ** 20, 0) : '-'} | ${r.errors} | ${ours && r !== ours ? `${f(ours.rps / r.rps)}×` : '-'} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
