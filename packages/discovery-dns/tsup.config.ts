import { packageConfig } from '../../tsup.config.base';

export default packageConfig({ index: 'src/index.ts', 'bin/switchyard-dns': 'src/bin/switchyard-dns.ts' });
