import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedProcess, makeTempDir, pollUntil } from './managed-process.js';
import { freePort } from './ports.js';

export interface RedisServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly process: ManagedProcess;
  /** Sends one command (inline protocol) and returns the raw reply, e.g. `await redis.command('FLUSHALL')`. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Keep data across restarts via an append-only file (default false: a restart loses everything). */
  persistence?: boolean;
  /** Extra `redis-server` arguments, e.g. `['--notify-keyspace-events', 'Eg']`. */
  args?: string[];
}

/** Starts a throwaway `redis-server` on a free loopback port. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server');
  const port = await freePort();
  const dir = makeTempDir('redis');
  const host = '127.0.0.1';
  const proc = new ManagedProcess({
    name: `redis-server:${port}`,
    command: bin,
    dataDir: dir,
    args: () => [
      '--port',
      String(port),
      '--bind',
      host,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.persistence ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--protected-mode',
      'no',
      '--logfile',
      '',
      '--pidfile',
      join(dir, 'redis.pid'),
      ...(options.args ?? []),
    ],
    ready: (signal) =>
      pollUntil(async () => (await redisCommand(host, port, 'PING', 500)).startsWith('+PONG'), signal),
  });
  await proc.start();
  const server: RedisServer = {
    host,
    port,
    url: `redis://${host}:${port}`,
    process: proc,
    command: (line) => redisCommand(host, port, line, 5000),
    stop: () => proc.stop(),
    [Symbol.asyncDispose]: () => proc.stop(),
  };
  return server;
}

/** `n` independent Redis servers (for Redlock). */
export async function startRedisServers(n: number, options: StartRedisOptions = {}): Promise<RedisServer[]> {
  return Promise.all(Array.from({ length: n }, () => startRedis(options)));
}

export function redisCommand(host: string, port: number, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${line} timed out`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
