import { randomUUID } from 'node:crypto';
import { type Clock, type ConfigStore, isSwitchyardError } from '@switchyard/core';
import type { AuditLog } from './audit-log.js';
import type { InstanceIdentity } from './gray-rule.js';
import type { ResolvedNamespace } from './namespace-resolver.js';
import {
  decodeDocument,
  encodeDocument,
  type ReleaseDocument,
  type ReleaseLayout,
} from './release-layout.js';

/** A failing health check after a change: abort the gray release, or restore the previous release. */
export async function autoRollback(
  deps: {
    store: ConfigStore;
    layout: ReleaseLayout;
    audit: AuditLog;
    clock: Clock;
    env: string;
    instance: InstanceIdentity;
  },
  name: string,
  resolved: ResolvedNamespace,
  reason: string,
): Promise<{ revision: number; gray: boolean } | undefined> {
  const { store, layout, audit, clock, env, instance } = deps;
  const ref = { env, cluster: resolved.provenance.cluster, namespace: name };
  const actor = `auto-rollback:${instance.id}`;
  if (resolved.grayRevision !== undefined) {
    const key = layout.gray(ref);
    const deleted = await store
      .delete(key, { expectedRevision: resolved.grayRevision, author: actor })
      .catch(() => false);
    if (!deleted) return undefined;
    await audit.record({ action: 'auto-rollback', actor, ...ref, details: { reason, gray: true } });
    return { revision: resolved.grayRevision, gray: true };
  }
  const key = layout.release(ref);
  const history = (await store.history(key)).filter((h) => h.type === 'put');
  const idx = history.findIndex((h) => h.revision === resolved.mainRevision);
  const previous = idx >= 0 ? history[idx + 1] : undefined;
  if (!previous) return undefined;
  const old = decodeDocument<ReleaseDocument>(previous)!;
  const doc: ReleaseDocument = {
    id: `rel-${randomUUID()}`,
    items: old.items,
    author: actor,
    message: `auto-rollback: ${reason}`,
    time: clock.now(),
    rollbackOf: previous.revision,
  };
  const entry = await store
    .put(key, encodeDocument(doc), {
      expectedRevision: resolved.mainRevision,
      author: actor,
      message: doc.message!,
    })
    .catch((e) => {
      if (isSwitchyardError(e) && e.code === 'CONFLICT') return undefined; // another instance did it
      throw e;
    });
  if (!entry) return undefined;
  await audit.record({
    action: 'auto-rollback',
    actor,
    ...ref,
    revision: entry.revision,
    details: { reason, to: previous.revision },
  });
  return { revision: entry.revision, gray: false };
}
