export { type AuditEntry, AuditLog } from './audit-log.js';
export {
  type ConsoleModule,
  ConsoleReply,
  type ConsoleRequest,
  type ConsoleRoute,
  type HttpMethod,
  type MutationPreview,
} from './console-module.js';
export type { WritableRulesSource } from './console-options.js';
export { type ConsoleServer, type ConsoleServerOptions, createConsoleServer } from './console-server.js';
export { badRequest, HttpError, notFound } from './http/http-error.js';
export { type Page, pageOf } from './modules/paging.js';
