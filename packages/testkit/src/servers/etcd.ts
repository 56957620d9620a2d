import { request } from 'node:http';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedProcess, makeTempDir, pollUntil } from './managed-process.js';
import { freePorts } from './ports.js';

export interface EtcdMember {
  readonly name: string;
  /** `http://127.0.0.1:<client port>` */
  readonly endpoint: string;
  readonly process: ManagedProcess;
  /** True when `/health` answers healthy. */
  healthy(): Promise<boolean>;
}

export interface EtcdCluster extends AsyncDisposable {
  readonly members: readonly EtcdMember[];
  /** Client endpoints of every member. */
  readonly endpoints: string[];
  /** Waits until a quorum of members reports healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Single-member clusters: kills the member, deletes its data dir and starts it as a new cluster
   * (every key gone, revisions restart from 1): a data loss or a restore from nothing.
   */
  wipe(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Number of members (default 1; use 3 for fault tests). */
  members?: number;
  /** Raft heartbeat in ms (default 50) and election timeout (default 500): fast failover for tests. */
  heartbeatInterval?: number;
  electionTimeout?: number;
  /** Extra etcd flags for every member. */
  args?: string[];
}

/** Starts a throwaway etcd member or cluster on free loopback ports with throwaway data dirs. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const bin = findBinary('etcd');
  const n = options.members ?? 1;
  const ports = await freePorts(n * 2);
  const dir = makeTempDir('etcd');
  const token = `switchyard-${process.pid}-${ports[0]}`;
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const clientUrl = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  let first = true;
  const members: EtcdMember[] = names.map((name, i) => {
    const dataDir = join(dir, name);
    const proc = new ManagedProcess({
      name: `etcd:${name}:${ports[2 * i]}`,
      command: bin,
      readyTimeout: 30_000,
      args: () => [
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        clientUrl(i),
        '--advertise-client-urls',
        clientUrl(i),
        '--listen-peer-urls',
        peerUrl(i),
        '--initial-advertise-peer-urls',
        peerUrl(i),
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        token,
        '--initial-cluster-state',
        first ? 'new' : 'existing',
        '--heartbeat-interval',
        String(options.heartbeatInterval ?? 50),
        '--election-timeout',
        String(options.electionTimeout ?? 500),
        '--log-level',
        'error',
        '--logger',
        'zap',
        ...(options.args ?? []),
      ],
      // A member of a multi-member cluster is "ready" once it serves HTTP; quorum is awaited separately.
      ready: (signal) =>
        pollUntil(async () => (await httpGet(`${clientUrl(i)}/version`, 500)).status === 200, signal),
    });
    return { name, endpoint: clientUrl(i), process: proc, healthy: () => etcdHealthy(clientUrl(i)) };
  });
  await Promise.all(members.map((m) => m.process.start()));
  first = false;
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    async waitHealthy(timeoutMs = 30_000) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), timeoutMs);
      try {
        await pollUntil(
          async () => {
            const states = await Promise.all(
              members.map((m) => (m.process.running && !m.process.paused ? m.healthy() : false)),
            );
            return states.filter(Boolean).length >= Math.floor(n / 2) + 1;
          },
          ac.signal,
          100,
        );
      } catch {
        throw new Error(`[testkit] etcd cluster not healthy within ${timeoutMs} ms`);
      } finally {
        clearTimeout(t);
      }
    },
    async wipe() {
      if (n !== 1) throw new Error('[testkit] wipe() is for single-member clusters');
      const { rmSync } = await import('node:fs');
      await members[0]!.process.kill();
      rmSync(join(dir, names[0]!), { recursive: true, force: true });
      first = true;
      try {
        await members[0]!.process.start();
      } finally {
        first = false;
      }
      await cluster.waitHealthy();
    },
    async stop() {
      await Promise.all(members.map((m) => m.process.stop()));
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => cluster.stop(),
  };
  await cluster.waitHealthy();
  return cluster;
}

async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await httpGet(`${endpoint}/health`, 1000);
    return res.status === 200 && /"health":\s*"true"/.test(res.body);
  } catch {
    return false;
  }
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
