import type { ConsoleModule } from '../console-module.js';
import type { ParsedConsoleOptions } from '../console-options.js';
import { cacheModule } from './cache-module.js';
import { configModule } from './config-module.js';
import { locksModule } from './locks-module.js';
import { routesModule } from './routes-module.js';
import { servicesModule } from './services-module.js';

/** The built-in pages, one per backend option given, in tab order. */
export function buildModules(o: ParsedConsoleOptions): ConsoleModule[] {
  const modules: ConsoleModule[] = [];
  if (o.discovery) modules.push(servicesModule(o.discovery, o.rules));
  if (o.locks) modules.push(locksModule(o.locks));
  if (o.config) modules.push(configModule(o.config));
  if (o.routes) modules.push(routesModule(o.routes, o.discovery));
  if (o.cache) modules.push(cacheModule(o.cache));
  return modules;
}
