import { Worker } from 'node:worker_threads';

/**
 * A bounded UDP load generator in a worker thread (so it does not share the event loop of a server
 * under test in this process): `window` queries in flight, each reply sends the next one, for
 * `durationMs`. Returns replies per second. Lost packets are re-sent after 200 ms.
 */
export function udpLoad(options: {
  port: number;
  queries: Buffer[];
  window: number;
  durationMs: number;
}): Promise<{ qps: number; lost: number }> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const dgram = require('node:dgram');
    const { port, queries, window, durationMs } = workerData;
    const sock = dgram.createSocket('udp4');
    const bufs = queries.map((q) => Buffer.from(q));
    let replies = 0, lost = 0, next = 0, stop = false;
    const sentAt = new Map();
    const send = () => {
      const id = next++ & 0xffff;
      const q = Buffer.from(bufs[id % bufs.length]);
      q.writeUInt16BE(id, 0);
      sentAt.set(id, Date.now());
      sock.send(q, port, '127.0.0.1');
    };
    sock.on('message', (m) => {
      const id = m.readUInt16BE(0);
      if (!sentAt.delete(id)) return;
      replies++;
      if (!stop) send();
    });
    sock.bind(0, '127.0.0.1', () => {
      const t0 = Date.now();
      for (let i = 0; i < window; i++) send();
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [id, t] of sentAt) if (now - t > 200) { sentAt.delete(id); lost++; if (!stop) send(); }
      }, 50);
      setTimeout(() => {
        stop = true;
        const elapsed = Date.now() - t0;
        clearInterval(sweep);
        sock.close();
        parentPort.postMessage({ qps: (replies * 1000) / elapsed, lost });
      }, durationMs);
    });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: { ...options, queries: options.queries.map((q) => new Uint8Array(q)) },
    });
    w.once('message', (m) => {
      resolve(m as { qps: number; lost: number });
      void w.terminate();
    });
    w.once('error', reject);
  });
}
