import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DiscoveryBackend, DiscoveryEvent, InstanceFilter, Registration } from '@switchyard/core';

/** Collects every event of a watch (all health states unless a filter is given). */
export function collect(
  d: DiscoveryBackend,
  service: string,
  filter: InstanceFilter = { health: ['passing', 'warning', 'critical', 'maintenance'] },
) {
  const events: DiscoveryEvent[] = [];
  const ac = new AbortController();
  let error: unknown;
  const done = (async () => {
    try {
      for await (const e of d.watch(service, { signal: ac.signal, filter })) events.push(e);
    } catch (e) {
      error = e;
    }
  })();
  const state = () => events.at(-1)?.snapshot.instances ?? [];
  return {
    events,
    get error() {
      return error;
    },
    ids: () => state().map((i) => i.id),
    view: () =>
      state()
        .map((i) => `${i.id}:${i.health}`)
        .join(),
    /** How many times each id was added / removed over the whole watch. */
    count(kind: 'added' | 'removed') {
      const n = new Map<string, number>();
      for (const e of events) for (const i of e.diff[kind]) n.set(i.id, (n.get(i.id) ?? 0) + 1);
      return n;
    },
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

export function track(reg: Registration): string[] {
  const log: string[] = [];
  reg.on('registration:lost', () => log.push('lost'));
  reg.on('registration:restored', () => log.push('restored'));
  return log;
}

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const REGISTRANT = fileURLToPath(new URL('./fixtures/registrant.ts', import.meta.url));

/** Starts a registrant in its own process; resolves once its instances are registered. */
export async function spawnRegistrant(
  url: string,
  prefix: string,
  service: string,
  ttl: number,
  ids: string[],
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=switchyard-source',
      REGISTRANT,
      url,
      prefix,
      service,
      String(ttl),
      ...ids,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`registrant exited (${code}): ${output}`)));
  });
  return child;
}

/** SIGKILL and wait for the exit. */
export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
