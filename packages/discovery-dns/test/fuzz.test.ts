import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalName, decodeMessage, encodeMessage, encodeQuery, TYPE } from '../src/dns-message.js';
import { type DnsServer, startDnsServer } from '../src/index.js';
import { readQuery } from '../src/server/query-reader.js';
import { short, sleep } from './dig.js';

let memory: ReturnType<typeof createMemoryDiscovery>;
let server: DnsServer;
let reg: Registration;

/** A seeded generator: the same inputs on every run. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

beforeAll(async () => {
  memory = createMemoryDiscovery();
  reg = await memory.register({ id: 'f1', service: 'fuzz', address: '10.5.0.1', port: 1 });
  server = await startDnsServer({ discovery: memory, zone: 'fz.test' });
});

afterAll(async () => {
  await reg?.close();
  await server?.close();
  await memory?.close();
});

function corpus(): Buffer[] {
  const big = encodeMessage({
    id: 1,
    flags: {},
    rcode: 0,
    question: { name: 'fuzz.fz.test', type: TYPE.SRV, class: 1 },
    answers: Array.from({ length: 10 }, (_, i) => ({
      name: 'fuzz.fz.test',
      type: TYPE.SRV,
      class: 1,
      ttl: 5,
      priority: 1,
      weight: 1,
      port: 80,
      target: `pod-${i}.fuzz.fz.test`,
    })),
  });
  return [
    encodeQuery(7, 'fuzz.fz.test', TYPE.A, 1232),
    encodeQuery(8, '_instances.fuzz.fz.test', TYPE.PTR, 1232),
    big,
  ];
}

function inputs(count: number): Buffer[] {
  const random = lcg(2026);
  const seeds = corpus();
  const out: Buffer[] = [];
  // Hand-made hostile cases: a self-pointing name, a pointer loop, a label over 63, a name over
  // 255, a truncated header, counts larger than the message.
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  out.push(Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01])]));
  out.push(Buffer.concat([header, Buffer.from([0x01, 0x61, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01])]));
  out.push(Buffer.concat([header, Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]));
  out.push(
    Buffer.concat([
      header,
      ...Array.from({ length: 40 }, () => Buffer.from([7, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]),
  );
  out.push(header.subarray(0, 7));
  out.push(Buffer.from([0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]));
  while (out.length < count) {
    if (random() < 0.3) {
      out.push(
        Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))),
      );
    } else {
      const base = Buffer.from(seeds[Math.floor(random() * seeds.length)] as Buffer);
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) base[Math.floor(random() * base.length)] = Math.floor(random() * 256);
      // Keep QR clear on most inputs so they reach the decoder instead of being dropped.
      if (random() < 0.9) base[2] = (base[2] as number) & 0x7f;
      out.push(base);
    }
  }
  return out;
}

describe('hostile input', () => {
  it('the fast query reader agrees with the full decoder on every input it accepts', () => {
    let accepted = 0;
    for (const p of [...corpus(), ...inputs(20_000)]) {
      const fast = readQuery(p);
      if (!fast) continue;
      accepted++;
      const full = decodeMessage(p);
      expect(full?.errors).toBe(0);
      const q = full?.questions[0];
      expect([canonicalName(q?.name ?? ''), q?.type, q?.class, full?.id]).toEqual([
        fast.name,
        fast.type,
        fast.class,
        fast.id,
      ]);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('no input takes long to read: p99 under 1 ms (RFC 9267: no compression loops)', () => {
    const times: number[] = [];
    for (const p of inputs(20_000)) {
      const t0 = performance.now();
      if (!readQuery(p)) decodeMessage(p);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    expect(times[Math.floor(times.length * 0.99)]).toBeLessThan(1);
  });

  it('survives random and mutated packets over UDP and TCP, answers FORMERR where it can, still serves', async () => {
    const packets = inputs(3_000);
    const sock = createSocket('udp4');
    let replies = 0;
    let formerr = 0;
    sock.on('message', (m) => {
      replies++;
      if (m.length >= 4 && ((m[3] as number) & 0x0f) === 1) formerr++;
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const t0 = performance.now();
    for (let i = 0; i < packets.length; i++) {
      sock.send(packets[i] as Buffer, server.port, '127.0.0.1');
      if (i % 50 === 49) await sleep(5);
    }
    await sleep(300);
    const elapsed = performance.now() - t0;
    sock.close();
    expect(server.stats.queries).toBeGreaterThanOrEqual(packets.length * 0.8);
    expect(replies).toBeGreaterThan(100);
    expect(formerr).toBeGreaterThan(10);
    expect(elapsed).toBeLessThan(10_000);

    // TCP: garbage frames on one connection, then a frame length beyond what follows.
    await new Promise<void>((resolve) => {
      const c = connect({ host: '127.0.0.1', port: server.port }, () => {
        for (const p of packets.slice(0, 200)) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(p.length);
          c.write(Buffer.concat([len, p]));
        }
        c.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
        setTimeout(() => {
          c.destroy();
          resolve();
        }, 200);
      });
      c.on('error', () => resolve());
    });

    expect(await short(server.port, 'fuzz.fz.test')).toEqual(['10.5.0.1']);
  });
});
