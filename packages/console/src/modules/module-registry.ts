import type { ConsoleModule } from '../console-module.js';
import type { ParsedConsoleOptions } from '../console-options.js';
import { configModule } from './config-module.js';
import { servicesModule } from './services-module.js';

/** The built-in pages, one per backend option given, in tab order. */
export function buildModules(o: ParsedConsoleOptions): ConsoleModule[] {
  const modules: ConsoleModule[] = [];
  if (o.discovery) modules.push(servicesModule(o.discovery, o.rules));
  if (o.config) modules.push(configModule(o.config));
  return modules;
}
