export type { AuditAction, AuditQuery, AuditRecord } from './center/audit-log.js';
export {
  type ConfigAdmin,
  type ConfigAdminOptions,
  createConfigAdmin,
  type GrayView,
  MASK,
  type NamespaceSummary,
  type ReleaseView,
  type WriteAs,
} from './center/config-admin.js';
export {
  type ConfigCenter,
  type ConfigCenterEvents,
  type ConfigCenterOptions,
  createConfigCenter,
  type NamespaceOptions,
} from './center/config-center.js';
export { type GrayRule, grayBucket, type InstanceIdentity, matchesGray } from './center/gray-rule.js';
export type { ConfigUpdate, HealthCheck, LiveNamespace } from './center/live-namespace.js';
export type { NamespaceSpec, Provenance } from './center/namespace-resolver.js';
export { diffItems, type ItemsDiff } from './center/release-diff.js';
export type { NamespaceRef, ReleaseDocument } from './center/release-layout.js';
export { type Keyring, type SealedValue, SecretBox } from './center/secret-box.js';
export type { InferOutput, StandardSchemaV1 } from './center/standard-schema.js';
export { trafficRulesSchema, trafficRulesSource } from './center/traffic-rules-source.js';
export { createEtcdConfigStore, type EtcdConfigStoreOptions } from './store/etcd-config-store.js';
export { createRedisConfigStore, type RedisConfigStoreOptions } from './store/redis-config-store.js';
