import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

/** go-connlimit's answer to a connection over `http_max_conns_per_client` (then it closes). */
const TOO_MANY_CONNS = 'Your IP is issuing too many concurrent connections, please rate limit your calls\n';
const TOO_MANY_RESPONSE =
  'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(TOO_MANY_CONNS)}\r\nConnection: close\r\n\r\n${TOO_MANY_CONNS}`;

export interface AgentListenerOptions {
  host: string;
  tls: { key: string | Buffer; cert: string | Buffer } | undefined;
  /** `http_max_conns_per_client`: concurrent connections one client IP may hold (0: no limit). */
  maxConnsPerClient: number;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Called for every connection refused over the limit. */
  onReject: () => void;
}

/**
 * The HTTP(S) listener of one emulated agent, with Consul's per-client-IP connection limit
 * (agent.go wires go-connlimit's `HTTPConnStateFuncWithDefault429Handler` into every HTTP server:
 * a connection past the limit gets a raw 429 and is closed).
 */
export class AgentListener {
  readonly #o: AgentListenerOptions;
  /** Accepts TCP connections and hands the admitted ones to `#http`. */
  readonly #tcp: NetServer;
  readonly #http: Server;
  readonly #sockets = new Set<Socket>();
  readonly #perClient = new Map<string, number>();
  port = 0;

  constructor(options: AgentListenerOptions) {
    this.#o = options;
    this.#http = options.tls
      ? (createHttpsServer(
          { key: options.tls.key, cert: options.tls.cert },
          options.onRequest,
        ) as unknown as Server)
      : createServer(options.onRequest);
    this.#http.keepAliveTimeout = 30_000;
    this.#tcp = createNetServer((s) => this.#admit(s));
  }

  get openConnections(): number {
    return this.#sockets.size;
  }

  listen(port: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, this.#o.host, () => {
        this.#tcp.off('error', reject);
        const addr = this.#tcp.address();
        this.port = typeof addr === 'object' && addr ? addr.port : port;
        resolve(this.port);
      });
    });
  }

  /** Stops accepting connections and cuts the open ones; resolves once the server is closed. */
  async close(): Promise<void> {
    const listening = this.#tcp.listening;
    const closing = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    this.cut();
    if (listening) await closing;
  }

  /** Cuts every open connection (blocking queries included). */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#perClient.clear();
  }

  #admit(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    const open = this.#perClient.get(ip) ?? 0;
    const limit = this.#o.maxConnsPerClient;
    socket.on('error', () => {}); // a client that went away; nothing to report
    if (limit > 0 && open >= limit) {
      this.#o.onReject();
      // Plain HTTP gets go-connlimit's raw 429; a TLS connection is just closed (no handshake yet).
      if (this.#o.tls) socket.destroy();
      else {
        socket.resume();
        socket.end(TOO_MANY_RESPONSE, () => socket.destroy());
      }
      return;
    }
    this.#perClient.set(ip, open + 1);
    this.#sockets.add(socket);
    socket.once('close', () => {
      if (!this.#sockets.delete(socket)) return;
      const n = (this.#perClient.get(ip) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(ip);
      else this.#perClient.set(ip, n);
    });
    this.#http.emit('connection', socket);
  }
}
