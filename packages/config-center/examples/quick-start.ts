import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createConfigAdmin, createConfigCenter } from '@switchyard/config-center';
import { createMemoryConfigStore } from '@switchyard/core';
import { z } from 'zod'; // any Standard Schema validator: zod ≥ 3.24, valibot ≥ 1, arktype ≥ 2

const show = (...values: unknown[]) => process.stdout.write(`${values.map((v) => inspect(v)).join(' ')}\n`);

// The store: createRedisConfigStore({ url }) or createEtcdConfigStore({ hosts }) in production.
const store = createMemoryConfigStore();
const http = z.object({
  timeout: z.number().int().positive(),
  retries: z.number().int().min(0).default(3),
  dbPassword: z.string(),
});
const keyring = { keys: { k1: randomBytes(32) }, primary: 'k1' }; // load from your KMS / env
const namespaces = { http: { schema: http, secrets: ['dbPassword'] } };
const ref = { env: 'prod', namespace: 'http' };

// operator side (a CLI, an admin service)
const admin = createConfigAdmin({ store, app: 'shop', namespaces, keyring });
const first = await admin.publish(
  ref,
  { timeout: 500, dbPassword: 's3cret' },
  { author: 'alice', expectedRevision: 0 },
);

// app side
const center = createConfigCenter({
  store,
  app: 'shop',
  env: 'prod',
  namespaces,
  keyring,
  instance: { id: 'pod-7', labels: { zone: 'a' } },
});
const ns = await center.namespace('http', {
  schema: http,
  health: { check: (v) => v.timeout < 5_000, window: 1_000, interval: 50 }, // auto-rollback on failure
});
show(ns.get('timeout'), ns.get('retries'), ns.provenance.author); // 500 3 alice
ns.subscribe(({ value, diff, version }) => show('v', version, value.timeout, diff.changed));

// gray release to 10 % of instances (consistent hash of the instance id), then promote
await admin.startGray(ref, { timeout: 800 }, { percentage: 10 }, { author: 'bob' });
await admin.promoteGray(ref, { author: 'bob' });
// a bad release is refused before anything is written
await admin
  .publish(ref, { timeout: -1, dbPassword: 'x' }, { author: 'eve' })
  .catch((e) => show(e.code, e.field));
// rollback is a new release
await admin.rollback(ref, first.revision, { author: 'ops' });
await new Promise((r) => setTimeout(r, 50));
show((await admin.audit({ namespace: 'http' })).map((a) => `${a.action}:${a.actor}`));
await center.close();
