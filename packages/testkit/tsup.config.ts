import { packageConfig } from '../../tsup.config.base';

export default packageConfig(
  {
    index: 'src/index.ts',
    servers: 'src/servers/index.ts',
    conformance: 'src/conformance/index.ts',
    'emulators/consul': 'src/emulators/consul/index.ts',
    bench: 'src/bench/index.ts',
  },
  { external: ['vitest'] },
);
