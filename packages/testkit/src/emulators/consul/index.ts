export { formatDuration, parseDuration } from './duration.js';
export {
  type ConsulEmulator,
  type ConsulEmulatorOptions,
  type EmulatedAgent,
  type EmulatorRequest,
  startConsulEmulator,
} from './server.js';
export { META_LIMITS } from './validation.js';
