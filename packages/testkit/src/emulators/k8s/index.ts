export { createTestCertificate, type TestCertificate } from './certificate.js';
export type { FaultMatch } from './faults.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export {
  type K8sEmulator,
  type K8sEmulatorOptions,
  type K8sEmulatorRequest,
  startK8sEmulator,
} from './server.js';
export type { Status, StatusCause } from './status.js';
export type { KubeObject, ObjectMeta } from './store.js';
