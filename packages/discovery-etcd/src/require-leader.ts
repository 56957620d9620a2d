import { type CallOptions, InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { CallOptionsFactory } from 'etcd3';

/**
 * gRPC interceptor adding etcd's `hasleader: true` metadata (Go client's `WithRequireLeader`): a
 * member that has lost its leader (partitioned from the quorum) refuses the stream, or cancels it
 * once it notices, instead of silently starving a watch or a lease keep-alive.
 */
export const requireLeaderInterceptor: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

/**
 * `defaultCallOptions` for an `Etcd3` client that asks for leader-required watch and lease
 * keep-alive streams, composed with the user's own factory. `createEtcdDiscovery` uses it for
 * clients it creates; pass it when you construct your own client:
 * `new Etcd3({ hosts, defaultCallOptions: requireLeaderCallOptions() })`.
 */
export function requireLeaderCallOptions(base?: CallOptionsFactory): CallOptionsFactory {
  return (context) => {
    const own: CallOptions = (typeof base === 'function' ? base(context) : base) ?? {};
    if (!context.isStream) return own;
    return { ...own, interceptors: [...(own.interceptors ?? []), requireLeaderInterceptor] };
  };
}
