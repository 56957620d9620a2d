import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';

export interface ListenerHooks {
  /** Answers one query; calls `reply` exactly once (`undefined`: drop it). */
  handle(query: Buffer, tcp: boolean, reply: (b: Buffer | undefined) => void): void;
  /** Whether a UDP query from `address` is admitted (rate limit). */
  admitUdp(address: string): boolean;
  onError(error: unknown): void;
  maxTcpConnections: number;
  tcpIdleTimeout: number;
}

export interface DnsListeners {
  readonly port: number;
  close(): Promise<void>;
}

/** Queries in progress on one TCP connection at most (RFC 7766 pipelining, bounded). */
const MAX_PENDING_PER_CONNECTION = 64;

/** UDP and TCP on one port: UDP datagrams, TCP with 2-octet length framing and pipelining. */
export async function openListeners(
  host: string,
  wanted: number,
  hooks: ListenerHooks,
): Promise<DnsListeners> {
  const { udp, tcp, port } = await listen(host, wanted);
  const connections = new Set<Socket>();
  let closed = false;

  udp.on('message', (msg, rinfo) => {
    if (!hooks.admitUdp(rinfo.address)) return;
    hooks.handle(msg, false, (reply) => {
      if (reply && !closed) udp.send(reply, rinfo.port, rinfo.address);
    });
  });
  udp.on('error', hooks.onError);

  tcp.on('connection', (sock) => {
    if (connections.size >= hooks.maxTcpConnections || closed) {
      sock.destroy();
      return;
    }
    connections.add(sock);
    sock.setTimeout(hooks.tcpIdleTimeout, () => sock.destroy());
    sock.on('close', () => connections.delete(sock));
    sock.on('error', () => sock.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    let pending = 0;
    sock.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const n = buffered.readUInt16BE(0);
        if (buffered.length < n + 2) break;
        const frame = Buffer.from(buffered.subarray(2, n + 2));
        buffered = buffered.subarray(n + 2);
        if (++pending > MAX_PENDING_PER_CONNECTION) {
          sock.destroy();
          return;
        }
        hooks.handle(frame, true, (reply) => {
          pending--;
          if (!reply || sock.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          sock.write(Buffer.concat([len, reply]));
        });
      }
    });
  });

  return {
    port,
    async close() {
      closed = true;
      udp.close();
      for (const c of connections) c.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** Binds UDP then TCP on the same port (retrying on a clash when the port was 0). */
async function listen(host: string, wanted: number): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(wanted, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (e) {
      udp.close();
      if (wanted !== 0 || attempt >= 5) throw e;
    }
  }
}
