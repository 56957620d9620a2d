import { packageProject } from '../../vitest.shared';

export default packageProject('config-center');
