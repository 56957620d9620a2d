import { packageConfig } from '../../tsup.config.base';

export default packageConfig(
  {
    index: 'src/index.ts',
    servers: 'src/servers/index.ts',
    conformance: 'src/conformance/index.ts',
    'emulators/consul': 'src/emulators/consul/index.ts',
    'emulators/k8s': 'src/emulators/k8s/index.ts',
    bench: 'src/bench/index.ts',
  },
  { external: ['vitest'] },
);
