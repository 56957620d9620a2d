import * as grpc from '@grpc/grpc-js';
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { DiscoveryBackend, Registration } from '@switchyard/core';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString('utf8')),
};

/** A JSON-over-gRPC echo service (no .proto needed): unary Echo and server-streaming Count. */
export const echoService: ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');

export interface EchoServer {
  id: string;
  port: number;
  calls: () => number;
  /** Make every call fail with UNAVAILABLE (the server stays up and connected). */
  sick: (on: boolean) => void;
  close(): Promise<void>;
}

export async function startEchoServer(
  id: string,
  discovery: DiscoveryBackend,
  service = 'echo',
): Promise<EchoServer> {
  let calls = 0;
  let sick = false;
  const server = new Server();
  const impl: UntypedServiceImplementation = {
    echo(call: grpc.ServerUnaryCall<{ msg: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      calls++;
      if (sick) cb({ code: status.UNAVAILABLE, details: `${id} is sick` });
      else cb(null, { id, msg: call.request.msg, user: call.metadata.get('user-id')[0] ?? null });
    },
  };
  server.addService(echoService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const reg: Registration = await discovery.register({ id, service, address: '127.0.0.1', port });
  return {
    id,
    port,
    calls: () => calls,
    sick: (on) => {
      sick = on;
    },
    async close() {
      await reg.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
    },
  };
}

export function unary(
  client: grpc.Client,
  msg: string,
  metadata = new grpc.Metadata(),
): Promise<{ id: string; user: string | null }> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Function>).echo!.call(
      client,
      { msg },
      metadata,
      { deadline: Date.now() + 5_000 },
      (e: Error | null, r: { id: string; user: string | null }) => (e ? reject(e) : resolve(r)),
    ),
  );
}
