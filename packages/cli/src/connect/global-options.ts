import { Option } from 'commander';

/** The options every command accepts (flags, or the `SWITCHYARD_*` environment variable beside each). */
export interface GlobalOptions {
  backend?: string;
  redis?: string;
  etcd?: string;
  etcdUser?: string;
  etcdPassword?: string;
  consul?: string;
  consulToken?: string;
  kubeconfig?: string;
  k8sNamespace?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsInsecure?: boolean;
  prefix?: string;
  timeout: string;
  json?: boolean;
  color?: boolean;
}

/** Declared once on the root program; subcommands read them with `optsWithGlobals()`. */
export function globalOptions(): Option[] {
  return [
    new Option('--backend <name>', 'backend to use (inferred from the one connection given)')
      .choices(['redis', 'etcd', 'consul', 'k8s', 'memory'])
      .env('SWITCHYARD_BACKEND'),
    new Option('--redis <url>', 'Redis URL (redis://user:pass@host:port/db, rediss:// for TLS)').env(
      'SWITCHYARD_REDIS',
    ),
    new Option(
      '--etcd <endpoints>',
      'etcd endpoints, comma-separated (host:port or http(s)://host:port)',
    ).env('SWITCHYARD_ETCD'),
    new Option('--etcd-user <name>', 'etcd user (auth)').env('SWITCHYARD_ETCD_USER'),
    new Option('--etcd-password <password>', 'etcd password (auth)').env('SWITCHYARD_ETCD_PASSWORD'),
    new Option('--consul <url>', 'Consul agent URL (http://host:8500)').env('SWITCHYARD_CONSUL'),
    new Option('--consul-token <token>', 'Consul ACL token').env('SWITCHYARD_CONSUL_TOKEN'),
    new Option(
      '--kubeconfig <path>',
      'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)',
    ).env('SWITCHYARD_KUBECONFIG'),
    new Option('--k8s-namespace <ns>', 'Kubernetes namespace of bare service names').env(
      'SWITCHYARD_NAMESPACE',
    ),
    new Option('--tls-ca <file>', 'CA certificate (PEM) to trust').env('SWITCHYARD_TLS_CA'),
    new Option('--tls-cert <file>', 'client certificate (PEM)').env('SWITCHYARD_TLS_CERT'),
    new Option('--tls-key <file>', 'client private key (PEM)').env('SWITCHYARD_TLS_KEY'),
    new Option('--tls-insecure', 'do not verify the server certificate (testing only)').env(
      'SWITCHYARD_TLS_INSECURE',
    ),
    new Option('--prefix <prefix>', "key prefix of the backend's records (default: the package's)").env(
      'SWITCHYARD_PREFIX',
    ),
    new Option('--timeout <ms>', 'deadline of one backend call, ms')
      .default('5000')
      .env('SWITCHYARD_TIMEOUT'),
    new Option('--json', 'machine-readable output: one JSON document per result (NDJSON when live)'),
    new Option('--no-color', 'no colours (also NO_COLOR)'),
  ];
}
