/** The argument of client-node's `KubeConfig.loadFromOptions` (kept structural: testkit does not depend on client-node). */
export interface KubeconfigOptions {
  clusters: { name: string; server: string; caData?: string; skipTLSVerify: boolean }[];
  users: { name: string; token?: string }[];
  contexts: { name: string; cluster: string; user: string; namespace?: string }[];
  currentContext: string;
}

interface Target {
  url: string;
  ca: string | undefined;
  token: string | undefined;
  namespace: string | undefined;
}

const NAME = 'switchyard-emulator';

export function kubeconfigOptions(t: Target): KubeconfigOptions {
  return {
    clusters: [
      {
        name: NAME,
        server: t.url,
        // client-node refuses a plain-http server unless TLS verification is off (there is no TLS to verify).
        skipTLSVerify: t.url.startsWith('http:'),
        ...(t.ca ? { caData: Buffer.from(t.ca).toString('base64') } : {}),
      },
    ],
    users: [{ name: NAME, ...(t.token ? { token: t.token } : {}) }],
    contexts: [{ name: NAME, cluster: NAME, user: NAME, ...(t.namespace ? { namespace: t.namespace } : {}) }],
    currentContext: NAME,
  };
}

/** A kubeconfig file (`kubectl config view` shape) pointing at the emulator. */
export function kubeconfigFile(t: Target): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: NAME,
          cluster: {
            server: t.url,
            ...(t.url.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}),
            ...(t.ca ? { 'certificate-authority-data': Buffer.from(t.ca).toString('base64') } : {}),
          },
        },
      ],
      users: [{ name: NAME, user: t.token ? { token: t.token } : {} }],
      contexts: [
        {
          name: NAME,
          context: { cluster: NAME, user: NAME, ...(t.namespace ? { namespace: t.namespace } : {}) },
        },
      ],
      'current-context': NAME,
    },
    null,
    2,
  );
}
