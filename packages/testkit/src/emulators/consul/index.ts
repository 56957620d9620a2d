export { formatDuration, parseDuration } from './duration.js';
export { type ConsulEmulator, type ConsulEmulatorOptions, startConsulEmulator } from './server.js';
