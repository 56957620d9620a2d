import { packageConfig } from '../../tsup.config.base';

// `bin` is the executable (ESM only, with its shebang); `index` the programmatic API.
export default [
  packageConfig({ index: 'src/index.ts' }, { clean: false }),
  packageConfig(
    { bin: 'src/bin.ts' },
    { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } },
  ),
];
