import { packageConfig } from '../../tsup.config.base';

// One copy of every class (SwitchyardError, stores, the kit) shared by the entries: the subpaths
// import the chunks the main entry uses instead of bundling their own.
export default packageConfig(
  {
    index: 'src/index.ts',
    driver: 'src/driver/index.ts',
    otel: 'src/otel/index.ts',
    prometheus: 'src/prometheus/index.ts',
  },
  { external: ['@opentelemetry/api'], splitting: true },
);
