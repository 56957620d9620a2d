export { formatDuration, parseDuration } from './duration.js';
export {
  type ConsulEmulator,
  type ConsulEmulatorOptions,
  type EmulatorRequest,
  startConsulEmulator,
} from './server.js';
