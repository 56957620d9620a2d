export {
  APT_PACKAGES,
  findBinary,
  hasBinary,
  MissingServerBinaryError,
  type ServerBinary,
} from './binaries.js';
export { type DnsmasqServer, type StartDnsmasqOptions, startDnsmasq } from './dnsmasq.js';
export { type EtcdCluster, type EtcdMember, type StartEtcdOptions, startEtcd } from './etcd.js';
export { ManagedProcess, type ManagedProcessOptions, makeTempDir, pollUntil } from './managed-process.js';
export { freePort, freePorts } from './ports.js';
export {
  type RedisServer,
  redisCommand,
  type StartRedisOptions,
  startRedis,
  startRedisServers,
} from './redis.js';
export { type RedisClusterServers, startRedisCluster } from './redis-cluster.js';
