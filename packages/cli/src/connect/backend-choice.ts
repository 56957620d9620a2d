import { usageError } from '../exit-codes.js';
import type { GlobalOptions } from './global-options.js';

export type BackendName = 'redis' | 'etcd' | 'consul' | 'k8s' | 'memory';

const GIVEN: Record<BackendName, (o: GlobalOptions) => boolean> = {
  redis: (o) => o.redis !== undefined,
  etcd: (o) => o.etcd !== undefined,
  consul: (o) => o.consul !== undefined,
  k8s: (o) => o.kubeconfig !== undefined,
  memory: () => false,
};

const FLAG: Record<BackendName, string> = {
  redis: '--redis URL',
  etcd: '--etcd HOSTS',
  consul: '--consul URL',
  k8s: '--kubeconfig FILE',
  memory: '--backend memory',
};

/**
 * The backend a command runs on: `--backend` if given (it must be one the command supports), else
 * the only supported backend whose connection was given. Anything ambiguous is a usage error.
 */
export function chooseBackend<B extends BackendName>(
  o: GlobalOptions,
  supported: readonly B[],
  group: string,
): B {
  if (o.backend !== undefined) {
    if (!(supported as readonly string[]).includes(o.backend)) {
      throw usageError('--backend', `${group} commands run on ${supported.join(', ')} (not ${o.backend})`);
    }
    return o.backend as B;
  }
  const given = supported.filter((b) => GIVEN[b](o));
  if (given.length === 1) return given[0] as B;
  if (given.length === 0) {
    const flags = supported.map((b) => FLAG[b]).join(', ');
    throw usageError(
      '--backend',
      `no backend to connect to: give one of ${flags} (or SWITCHYARD_* variables)`,
    );
  }
  throw usageError('--backend', `several connections given (${given.join(', ')}): choose one with --backend`);
}
