import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import type { Clock } from '@switchyard/core';
import { canonicalName, type DecodedMessage, decodeMessage } from '../dns-message.js';

/** One nameserver address. */
export interface Nameserver {
  readonly host: string;
  readonly port: number;
}

/** Why one exchange with one nameserver failed (becomes `details.reason` of BACKEND_UNAVAILABLE). */
export class ExchangeError extends Error {
  constructor(
    readonly reason: 'timeout' | 'network' | 'malformed' | 'aborted',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExchangeError';
  }
}

export interface ExchangeRequest {
  readonly query: Buffer;
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

/** A reply matches when its id, QR bit and question are ours (RFC 5452: ignore anything else). */
function matches(m: DecodedMessage, req: ExchangeRequest): boolean {
  if (m.id !== req.id || m.qr !== 1) return false;
  const q = m.questions[0];
  // A FORMERR/NOTIMP reply may carry no question.
  if (!q) return m.rcode !== 0;
  return q.type === req.type && canonicalName(q.name) === canonicalName(req.name);
}

/**
 * The settle logic both transports share: one outcome, on the first of a reply, an error, the
 * timeout or the abort; the timer and the abort listener are removed and the socket is closed on
 * every path.
 */
function oneExchange(
  transport: 'UDP' | 'TCP',
  server: Nameserver,
  timeout: number,
  clock: Clock,
  signal: AbortSignal,
  resolve: (m: DecodedMessage) => void,
  reject: (e: Error) => void,
): { finish(error: Error | undefined, value?: DecodedMessage): void; closeWith(fn: () => void): void } {
  let done = false;
  let close = () => {};
  const finish = (error: Error | undefined, value?: DecodedMessage) => {
    if (done) return;
    done = true;
    clock.clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    close();
    if (error) reject(error);
    else resolve(value as DecodedMessage);
  };
  const onAbort = () => finish(new ExchangeError('aborted', 'query aborted'));
  const timer = clock.setTimeout(
    () =>
      finish(
        new ExchangeError(
          'timeout',
          `no ${transport} reply from ${server.host}:${server.port} within ${timeout} ms`,
        ),
      ),
    timeout,
    { unref: true },
  );
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    finish,
    closeWith(fn) {
      close = fn;
      if (signal.aborted) onAbort();
    },
  };
}

/**
 * One query to one nameserver over UDP on a fresh socket (a random source port per query, RFC 5452).
 * Replies from another address or with another id are dropped; the socket is closed on every path.
 */
export function exchangeUdp(
  server: Nameserver,
  req: ExchangeRequest,
  timeout: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<DecodedMessage> {
  return new Promise((resolve, reject) => {
    const sock: UdpSocket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const { finish, closeWith } = oneExchange('UDP', server, timeout, clock, signal, resolve, reject);
    sock.on('error', (e) =>
      finish(
        new ExchangeError('network', `UDP to ${server.host}:${server.port}: ${e.message}`, { cause: e }),
      ),
    );
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port || (rinfo.family === 'IPv4' && rinfo.address !== server.host)) return;
      const m = decodeMessage(msg);
      if (!m || !matches(m, req)) return;
      finish(undefined, m);
    });
    sock.send(req.query, server.port, server.host, (e) => {
      if (e)
        finish(
          new ExchangeError('network', `UDP send to ${server.host}:${server.port}: ${e.message}`, {
            cause: e,
          }),
        );
    });
    closeWith(() => sock.close());
  });
}

/** Largest DNS-over-TCP message we accept (the 16-bit length prefix allows no more). */
const MAX_TCP_MESSAGE = 65_535;

/** One query over TCP (RFC 7766): a 2-byte length prefix each way; the connection is closed after. */
export function exchangeTcp(
  server: Nameserver,
  req: ExchangeRequest,
  timeout: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<DecodedMessage> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const sock: Socket = connect({ host: server.host, port: server.port });
    const { finish, closeWith } = oneExchange('TCP', server, timeout, clock, signal, resolve, reject);
    sock.on('error', (e) =>
      finish(
        new ExchangeError('network', `TCP to ${server.host}:${server.port}: ${e.message}`, { cause: e }),
      ),
    );
    sock.on('close', () =>
      finish(new ExchangeError('network', `TCP to ${server.host}:${server.port} closed before a reply`)),
    );
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(req.query.length);
      sock.write(Buffer.concat([len, req.query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_TCP_MESSAGE + 2) {
        finish(new ExchangeError('malformed', 'TCP reply longer than 65 535 octets'));
        return;
      }
      while (buffered.length >= 2) {
        const n = buffered.readUInt16BE(0);
        if (buffered.length < n + 2) return;
        const frame = buffered.subarray(2, n + 2);
        buffered = buffered.subarray(n + 2);
        const m = decodeMessage(Buffer.from(frame));
        if (m && matches(m, req)) {
          finish(undefined, m);
          return;
        }
      }
    });
    closeWith(() => sock.destroy());
  });
}
