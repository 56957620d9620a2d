import { packageConfig } from '../../tsup.config.base';

export default packageConfig({
  index: 'src/index.ts',
  redis: 'src/redis/index.ts',
  etcd: 'src/etcd/index.ts',
});
