import { packageProject } from '../../vitest.shared';

// Files run one at a time: each starts real servers and pod processes, and heartbeats of 100 ms
// must not be starved by another file's load on a small machine.
export default packageProject('stateful-route', { fileParallelism: false });
