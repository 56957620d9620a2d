import { packageProject } from '../../vitest.shared';

export default packageProject('cli', { globalSetup: ['test/global-setup.ts'] });
