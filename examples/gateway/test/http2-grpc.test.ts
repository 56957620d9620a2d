import { connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

const backend = createMemoryDiscovery();
const regs: Registration[] = [];
const closers: (() => Promise<unknown>)[] = [];
const grpcServers = new Map<string, grpc.Server>();
let h1: DemoUpstream;
let gw: Gateway;

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString('utf8')),
};
const echoService: grpc.ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  count: {
    path: '/test.Echo/Count',
    requestStream: false,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

async function startGrpcUpstream(id: string) {
  const server = new grpc.Server();
  grpcServers.set(id, server);
  server.addService(echoService, {
    echo(call: grpc.ServerUnaryCall<{ msg: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', id);
      if (call.request.msg === 'fail')
        cb({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: trailer });
      else cb(null, { id, msg: call.request.msg }, trailer);
    },
    count(call: grpc.ServerWritableStream<{ n: number }, unknown>) {
      for (let i = 0; i < call.request.n; i++) call.write({ id, i });
      const trailer = new grpc.Metadata();
      trailer.set('x-total', String(call.request.n));
      call.end(trailer);
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  regs.push(await backend.register({ id, service: 'echo', address: '127.0.0.1', port }));
  closers.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
}

async function startH2Upstream(id: string) {
  const server: Http2Server = createH2Server();
  server.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'x-upstream': id }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': `${id}-${headers[':path']}` }));
    stream.end(`${id} ${headers[':method']} ${headers[':path']}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  regs.push(
    await backend.register({
      id,
      service: 'h2svc',
      address: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
    }),
  );
  closers.push(() => new Promise((r) => server.close(r)));
}

function h2get(url: string, path: string) {
  return new Promise<{ status: number; body: string; trailers: Record<string, unknown> }>(
    (resolve, reject) => {
      const session = connect(url);
      session.on('error', reject);
      const req = session.request({ ':path': path });
      let status = 0;
      let body = '';
      let trailers: Record<string, unknown> = {};
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.on('trailers', (t) => {
        trailers = t;
      });
      req.setEncoding('utf8');
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        session.close();
        resolve({ status, body, trailers });
      });
      req.on('error', reject);
    },
  );
}

beforeAll(async () => {
  await startGrpcUpstream('grpc-1');
  await startGrpcUpstream('grpc-2');
  await startH2Upstream('h2-1');
  h1 = await startDemoUpstream({ id: 'web-1', service: 'web', discovery: backend });
  const routes = createMemoryRouteSource({
    routes: [
      { name: 'grpc', pathPrefix: '/test.Echo', service: 'echo', protocol: 'h2c' },
      { name: 'h2', pathPrefix: '/h2', service: 'h2svc', protocol: 'h2c' },
      { name: 'web', pathPrefix: '/web', service: 'web' },
    ],
  });
  gw = await createGateway({ routes, discovery: backend, port: 0, adminPort: 0, http2Port: 0 });
  await gw.ready();
});
afterAll(async () => {
  await gw.close();
  await h1.close();
  for (const r of regs) await r.close();
  await Promise.all(closers.map((c) => c()));
  await backend.close();
});

describe('HTTP/2 front', () => {
  it('h2 → HTTP/1.1 upstream', async () => {
    const r = await h2get(gw.http2Url!, '/web/a?b=1');
    expect(r.status).toBe(200);
    expect(r.body).toBe('web-1\n');
  });

  it('HTTP/1.1 → h2c upstream (translated), trailers as chunked trailers', async () => {
    const { request } = await import('undici');
    const r = await request(`${gw.url}/h2/y`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-upstream']).toBe('h2-1');
    expect(await r.body.text()).toBe('h2-1 GET /h2/y\n');
    expect(r.trailers['x-checksum']).toBe('h2-1-/h2/y');
  });

  it('h2 → h2c upstream with trailers intact', async () => {
    const r = await h2get(gw.http2Url!, '/h2/x');
    expect(r.status).toBe(200);
    expect(r.body).toBe('h2-1 GET /h2/x\n');
    expect(r.trailers['x-checksum']).toBe('h2-1-/h2/x');
  });
});

describe('gRPC pass-through', () => {
  const call = (c: grpc.Client, msg: string) =>
    new Promise<{ res?: { id: string }; err?: grpc.ServiceError; trailers?: grpc.Metadata }>((resolve) => {
      let trailers: grpc.Metadata | undefined;
      const unary = (c as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>).echo!.bind(c);
      const cc = unary(
        { msg },
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (err: grpc.ServiceError | null, res: { id: string }) =>
          setImmediate(() =>
            resolve({ ...(res ? { res } : {}), ...(err ? { err } : {}), ...(trailers ? { trailers } : {}) }),
          ),
      );
      cc.on('status', (s: grpc.StatusObject) => {
        trailers = s.metadata;
      });
    });

  it('unary calls, status and trailing metadata pass through; calls spread over instances', async () => {
    const c = new EchoClient(gw.http2Url!.replace('http://', ''), grpc.credentials.createInsecure());
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await call(c, `m${i}`);
        expect(r.err).toBeUndefined();
        seen.add(r.res!.id);
        expect(r.trailers?.get('x-served-by')[0]).toBe(r.res!.id);
      }
      expect([...seen].sort()).toEqual(['grpc-1', 'grpc-2']);
      const bad = await call(c, 'fail');
      expect(bad.err?.code).toBe(grpc.status.NOT_FOUND);
      expect(bad.err?.details).toBe('no such thing');
    } finally {
      c.close();
    }
  });

  it('server streaming passes through with trailers', async () => {
    const c = new EchoClient(gw.http2Url!.replace('http://', ''), grpc.credentials.createInsecure());
    try {
      const stream = (
        c as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<{ i: number }>>
      ).count!.call(c, { n: 50 });
      const items: number[] = [];
      let total: string | undefined;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (d: { i: number }) => items.push(d.i));
        stream.on('status', (s: grpc.StatusObject) => {
          total = String(s.metadata.get('x-total')[0]);
        });
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      await new Promise((r) => setImmediate(r));
      expect(items).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(total).toBe('50');
    } finally {
      c.close();
    }
  });

  it('a gRPC upstream crashes: later calls are dialled elsewhere, none fails', async () => {
    await startGrpcUpstream('grpc-3');
    const c = new EchoClient(gw.http2Url!.replace('http://', ''), grpc.credentials.createInsecure());
    try {
      await expect
        .poll(async () => (await call(c, 'x')).res?.id, { timeout: 5_000, interval: 1 })
        .toBe('grpc-3');
      grpcServers.get('grpc-3')!.forceShutdown(); // crash: still registered in discovery
      await new Promise((r) => setTimeout(r, 50));
      const before = gw.metrics.service('echo').connectErrors;
      const results = [];
      for (let i = 0; i < 40; i++) results.push(await call(c, `after${i}`));
      expect(results.filter((r) => r.err)).toEqual([]);
      expect(results.every((r) => r.res!.id !== 'grpc-3')).toBe(true);
      expect(gw.metrics.service('echo').connectErrors).toBeGreaterThan(before);
    } finally {
      c.close();
    }
  });

  it('a gRPC call with no route fails fast with UNAVAILABLE', async () => {
    const Other = grpc.makeGenericClientConstructor(
      { x: { ...echoService.echo!, path: '/other.Svc/X' } } as grpc.ServiceDefinition,
      'Other',
    );
    const c = new Other(gw.http2Url!.replace('http://', ''), grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        (c as unknown as Record<string, Function>).x!.call(c, { msg: 'x' }, (e: grpc.ServiceError) =>
          resolve(e),
        ),
      );
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toMatch(/no route/);
    } finally {
      c.close();
    }
  });
});
