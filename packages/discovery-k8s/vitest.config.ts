import { packageProject } from '../../vitest.shared';

export default packageProject('discovery-k8s');
