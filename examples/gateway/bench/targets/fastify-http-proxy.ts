import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { serveTarget } from './child.js';

serveTarget(async (upstream) => {
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
});
