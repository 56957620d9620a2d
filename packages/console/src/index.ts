export { type AuditEntry, AuditLog } from './audit-log.js';
export { type ConsoleServer, type ConsoleServerOptions, createConsoleServer } from './console-server.js';
