import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a Redis server, so a test can cut one client's connections,
 * slow its replies down, or point it at another server (a failover) while other clients keep
 * talking to Redis directly.
 */
export interface TcpProxy {
  readonly url: string;
  /** Destroys open connections and refuses new ones until `unblock()`. */
  block(): void;
  unblock(): void;
  /** Holds the server → client direction of every connection (a slow network) until `flow()`. */
  stall(): void;
  flow(): void;
  /** New connections go to `port` (open ones are cut): what a Sentinel failover looks like to a client. */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(port: number): Promise<TcpProxy> {
  let target = port;
  const pairs = new Set<{ down: Socket; up: Socket }>();
  let blocked = false;
  let stalled = false;
  const server: Server = createServer((down) => {
    if (blocked) {
      down.destroy();
      return;
    }
    const up = connect(target, '127.0.0.1');
    const pair = { down, up };
    pairs.add(pair);
    const drop = () => {
      down.destroy();
      up.destroy();
      pairs.delete(pair);
    };
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    down.pipe(up);
    up.pipe(down);
    if (stalled) up.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const own = typeof address === 'object' && address ? address.port : 0;
  const destroyAll = () => {
    for (const { down, up } of pairs) {
      down.destroy();
      up.destroy();
    }
    pairs.clear();
  };
  return {
    url: `redis://127.0.0.1:${own}`,
    block() {
      blocked = true;
      destroyAll();
    },
    unblock() {
      blocked = false;
    },
    stall() {
      stalled = true;
      for (const { up } of pairs) {
        up.unpipe();
        up.pause();
      }
    },
    flow() {
      stalled = false;
      for (const { down, up } of pairs) {
        up.pipe(down);
        up.resume();
      }
    },
    retarget(next) {
      target = next;
      destroyAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll();
        server.close(() => resolve());
      }),
  };
}
